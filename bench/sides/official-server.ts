/**
 * Server child for the official npm `vsoa` package (CommonJS, native parser).
 *
 * It listens on a fixed port free for both TCP and UDP: with port 0 the official server
 * binds its quick (UDP) socket to a different port, and the official client then
 * reconnects its own UDP socket, which on Linux drops its autobound local port, so quick
 * publishes never arrive (seen with vsoa 1.5.1).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import vsoa from 'vsoa';
import { jsonParam, type ServerAdapter } from '../lib/adapter.js';
import { serve } from '../lib/server-main.js';

const server = new vsoa.Server({ info: { name: 'bench' } });

function tryPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const tcp = net.createServer();
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => {
      const chosen = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket('udp4');
      udp.once('error', (error) => {
        tcp.close();
        reject(error);
      });
      udp.bind(chosen, '127.0.0.1', () => {
        udp.close();
        tcp.close(() => resolve(chosen));
      });
    });
  });
}

/** A port that was just free for TCP and UDP alike. */
async function freePairPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tryPort(0);
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

const adapter: ServerAdapter = {
  async listen() {
    const port = await freePairPort();
    return new Promise<number>((resolve, reject) => {
      server.start({ addr: '127.0.0.1', port }, undefined, (error?: Error) => {
        if (error) reject(error);
        else resolve(server.address()?.port ?? 0);
      });
    });
  },
  echo(url) {
    server.on(url, (cli, request, payload) => cli.reply(0, request.seqno, payload));
  },
  command(url, handler) {
    server.on(url, (cli, request, payload) => {
      handler(jsonParam(payload?.param)).then(
        (result) => cli.reply(0, request.seqno, { param: result }),
        () => cli.reply(vsoa.code.NO_RESPONDING, request.seqno),
      );
    });
  },
  ondata(handler) {
    server.ondata = (_cli: unknown, url: string, payload?: { param?: unknown }) =>
      handler(url, jsonParam(payload?.param));
  },
  publish(url, data, quick) {
    server.publish(url, { data }, quick);
  },
  count: () => server.count(),
  close: () => new Promise<void>((resolve) => server.close(() => resolve())),
};

await serve(adapter);
