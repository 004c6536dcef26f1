import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, Server } from '../../src/index.js';
import { captureLogs, deferred, onCleanup } from '../helpers/net.js';
import { sendUntilArrived } from '../interop/official.js';

// Its own file: the capped report is made once per process.
const HUGE = 512 * 1024 * 1024; // above any net.core.rmem_max a test machine has

describe("a client's capped quick receive buffer", () => {
  it('is reported at the first quick datagram it receives, not at connect', async () => {
    const lines = captureLogs();
    const capped = () => lines().filter((l) => String(l.msg).includes('capped'));

    const server = new Server({ quickRecvBufferSize: 0 }); // the server's own socket asks for nothing
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const client = new Client({ quickRecvBufferSize: HUGE });
    onCleanup(() => client.close());
    expect(await client.connect(`vsoa://127.0.0.1:${server.address().port}`)).toBe(ConnectCode.OK);
    const subscribed = deferred<boolean>();
    client.subscribe('/q', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    // Bound, granted less than asked, used for nothing yet (a `vsoa call`): no warning.
    expect(client.quickRecvBufferSize ?? 0).toBeLessThan(2 * HUGE);
    expect(capped()).toHaveLength(0);

    const arrived = deferred();
    client.onmessage = (_c, url, _payload, quick) => {
      if (quick && url === '/q') arrived.resolve();
    };
    await sendUntilArrived(() => server.publish('/q', { param: 1 }, true), arrived.promise);
    expect(capped()).toHaveLength(1);
    expect(capped()[0]).toMatchObject({ level: 40, requested: HUGE });
  });
});
