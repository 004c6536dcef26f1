import type { Command } from 'commander';
import { Client } from '../../client/client.js';
import { ConnectCode } from '../../protocol/constants.js';
import { createDemoServer } from '../demo/demo-server.js';
import { payloadText } from '../format.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function waitFor<T>(what: string, register: (done: (value: T) => void) => void, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo: no ${what} within ${ms} ms`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Starts the demo server on loopback and walks a client through every kind of message. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'start a demo server on 127.0.0.1 and talk to it: RPC, subscribe/publish, quick datagram, ping',
    )
    .action(async () => {
      const demo = createDemoServer({}, 200);
      const client = new Client();
      try {
        await demo.server.listen(0, '127.0.0.1');
        const url = `vsoa://127.0.0.1:${demo.server.address().port}`;
        say(`server listening on ${url} (TCP and UDP)`);
        const info = waitFor<unknown>('server info', (done) => {
          client.onconnect = (_c, ok, i) => ok && done(i);
        });
        const code = await client.connect(url);
        if (code !== ConnectCode.OK) throw new Error(`demo: connect failed with code ${code}`);
        say(`client connected as id ${client.id}, server info ${JSON.stringify(await info)}`);

        const echo = await client.fetch('/echo', {
          payload: { param: { hello: 'vsoa' }, data: Buffer.from([1, 2, 3]) },
        });
        say(`RPC /echo -> status ${echo.header.status}: ${payloadText(echo.payload)}`);

        const time = waitFor<string>('/time publish', (done) => {
          client.onmessage = (_c, topic, payload) => topic === '/time' && done(payloadText(payload));
        });
        await waitFor<boolean>('subscribe reply', (done) => client.subscribe('/time', (_c, ok) => done(ok)));
        say(`subscribed to /time, got: ${await time}`);

        const news = waitFor<string>('/news publish', (done) => {
          client.onmessage = (_c, topic, payload, quick) =>
            topic === '/news' && done(`${payloadText(payload)} quick=${quick}`);
        });
        await waitFor<boolean>('subscribe reply', (done) => client.subscribe('/news', (_c, ok) => done(ok)));
        await client.fetch('/publish', {
          method: 'SET',
          payload: { param: { url: '/news', param: 'published on request' } },
        });
        say(`publish via /publish, got: ${await news}`);

        const echoed = waitFor<string>('datagram echo', (done) => {
          client.ondata = (_c, topic, payload, quick) =>
            done(`${topic} ${payloadText(payload)} quick=${quick}`);
        });
        client.datagram('/sensor', { param: { t: 21.5 } }, true);
        say(`quick datagram echoed: ${await echoed}`);

        const started = process.hrtime.bigint();
        const pong = await waitFor<boolean>('ping echo', (done) => client.ping((_c, ok) => done(ok)));
        say(
          `ping ${pong ? 'answered' : 'lost'} in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)} ms`,
        );
        say('demo done');
      } finally {
        client.close();
        await demo.stop();
      }
    });
}
