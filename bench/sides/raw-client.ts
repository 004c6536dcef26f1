/** Client child for the raw TCP floor: length-prefixed echo over `net`, replies in order. */
import net from 'node:net';
import { type ClientAdapter, unsupported } from '../lib/adapter.js';
import { runClient } from '../lib/client-main.js';
import { FrameCounter, prefixFor } from '../lib/length-prefix.js';

function rawClient(): ClientAdapter {
  let socket: net.Socket | undefined;
  const waiting: Array<(ok: boolean) => void> = [];
  let head = 0;
  const counter = new FrameCounter();
  const failAll = (): void => {
    const left = waiting.splice(head);
    waiting.length = 0;
    head = 0;
    for (const done of left) done(false);
  };
  return {
    connect(port) {
      return new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve());
        s.once('error', reject);
        s.on('close', failAll);
        s.on('data', (chunk: Buffer) => {
          for (let n = counter.push(chunk); n > 0; n--) {
            const done = waiting[head++];
            if (head > 1024 && head * 2 > waiting.length) {
              waiting.splice(0, head);
              head = 0;
            }
            done?.(true);
          }
        });
        socket = s;
      });
    },
    echo(_url, data, done) {
      const s = socket;
      if (!s || s.destroyed) return done(false);
      waiting.push(done);
      if (!data) {
        s.write(prefixFor(0));
        return;
      }
      s.cork();
      s.write(prefixFor(data.length));
      s.write(data);
      s.uncork();
    },
    control: () => unsupported('control'),
    datagram: () => unsupported('datagram'),
    subscribe: () => unsupported('subscribe'),
    onMessage: () => unsupported('publish'),
    close() {
      socket?.destroy();
    },
  };
}

runClient(rawClient);
