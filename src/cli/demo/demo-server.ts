import type { Payload } from '../../protocol/payload.js';
import { isValidUrl } from '../../protocol/url.js';
import { Server, type ServerOptions } from '../../server/server.js';

export interface DemoServer {
  server: Server;
  stop(): Promise<void>;
}

/**
 * The demo application behind `vsoa serve`: `/echo` answers with the request's payload,
 * `/time` is published once a second, `/publish` (SET, param `{ url, param?, quick? }`,
 * data passed on) publishes for a client, and every datagram is echoed back on its channel.
 */
export function createDemoServer(options: ServerOptions = {}, timeIntervalMs = 1000): DemoServer {
  const server = new Server({ info: { name: 'vsoa-edge demo' }, ...options });
  server.command('/echo', (cli, request, payload) => {
    cli.reply(request.seqno, payload);
  });
  server.command('/publish', (cli, request, payload) => {
    const spec = payload.param as { url?: unknown; param?: unknown; quick?: unknown } | undefined;
    if (!spec || typeof spec !== 'object' || !isValidUrl(spec.url)) {
      cli.reply(
        request.seqno,
        { param: { error: 'param must be { "url": "/topic", "param"?: ..., "quick"?: bool }' } },
        2,
      );
      return;
    }
    const message: Payload = { param: spec.param, data: payload.data };
    server.publish(spec.url, message, spec.quick === true);
    cli.reply(request.seqno);
  });
  server.ondata = (cli, url, payload, quick) => {
    cli.datagram(url, payload, quick);
  };
  const timer = setInterval(() => {
    if (server.isSubscribed('/time')) server.publish('/time', { param: { time: new Date().toISOString() } });
  }, timeIntervalMs);
  return {
    server,
    async stop() {
      clearInterval(timer);
      await server.close();
    },
  };
}
