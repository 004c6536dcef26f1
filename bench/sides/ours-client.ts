/** Client child for our library (dist/ or src/: lib/ours.ts). */
import { type ClientAdapter, jsonParam } from '../lib/adapter.js';
import { runClient } from '../lib/client-main.js';
import { loadClient, loadProtocol } from '../lib/ours.js';

const { Client } = await loadClient();
const { ConnectCode } = await loadProtocol();

function oursClient(): ClientAdapter {
  const client = new Client();
  return {
    async connect(port) {
      const code = await client.connect(`vsoa://127.0.0.1:${port}`);
      if (code !== ConnectCode.OK) throw new Error(`connect failed with code ${code}`);
    },
    echo(url, data, done) {
      const sent = client.call(url, { payload: data ? { data } : undefined }, (_c, header) =>
        done(header !== null && header.status === 0),
      );
      if (!sent) done(false);
    },
    async control(url, param, timeoutMs) {
      const { header, payload } = await client.fetch(url, { payload: { param }, timeout: timeoutMs });
      if (header.status !== 0) throw new Error(`${url} failed with status ${header.status}`);
      return jsonParam(payload.param);
    },
    datagram(url, param) {
      client.datagram(url, { param });
    },
    quickSend(url, data) {
      return client.datagram(url, { data }, true);
    },
    subscribe(url) {
      return new Promise<void>((resolve, reject) => {
        const sent = client.subscribe(url, (_c, ok) =>
          ok ? resolve() : reject(new Error('subscribe failed')),
        );
        if (!sent) reject(new Error('subscribe not sent'));
      });
    },
    onMessage(handler) {
      client.onmessage = (_c, _url, payload, quick) => handler(payload.data?.length ?? 0, quick);
    },
    close() {
      client.close();
    },
  };
}

runClient(oursClient);
