/** Client child for the official npm `vsoa` package. */
import vsoa from 'vsoa';
import { type ClientAdapter, jsonParam } from '../lib/adapter.js';
import { runClient } from '../lib/client-main.js';

interface OfficialPayload {
  param?: unknown;
  data?: Buffer;
}

function officialClient(): ClientAdapter {
  const client = new vsoa.Client();
  // Without a listener, an 'error' event would crash the child; failures show up as
  // failed calls or connects instead.
  client.on('error', () => {});
  return {
    connect(port) {
      return new Promise<void>((resolve, reject) => {
        client.connect(`vsoa://127.0.0.1:${port}`, (error) => (error ? reject(error) : resolve()));
      });
    },
    echo(url, data, done) {
      client.call(url, { method: vsoa.method.GET }, data ? { data } : undefined, (error) => done(!error));
    },
    control(url, param, timeoutMs) {
      return new Promise((resolve, reject) => {
        client.call(
          url,
          { method: vsoa.method.GET },
          { param },
          (error, payload?: OfficialPayload) => (error ? reject(error) : resolve(jsonParam(payload?.param))),
          timeoutMs,
        );
      });
    },
    datagram(url, param) {
      client.datagram(url, { param }, false);
    },
    quickSend(url, data) {
      client.datagram(url, { data }, true);
      return true;
    },
    subscribe(url) {
      return new Promise<void>((resolve, reject) => {
        client.subscribe(url, (error?: Error) => (error ? reject(error) : resolve()));
      });
    },
    onMessage(handler) {
      client.on('message', (_url: string, payload?: OfficialPayload, quick?: boolean) =>
        handler(payload?.data?.length ?? 0, quick === true),
      );
    },
    close() {
      client.close();
    },
  };
}

runClient(officialClient);
