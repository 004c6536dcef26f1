import { describe, expect, it } from 'vitest';
import { JugglerState } from '../../src/juggler/index.js';
import { until } from '../helpers/net.js';
import { connectJuggler, frozenPeer, startJuggler } from './helpers.js';

describe('juggler server: a peer that stops reading', () => {
  it('is cut off once its send buffer passes the limit; memory stays bounded and others keep going', async () => {
    const limit = 256 * 1024;
    const state = new JugglerState({ n: 0 });
    const { server, port, url } = await startJuggler({ state, autoflushDelay: 0, sendBufferLimit: limit });
    const healthy = await connectJuggler(url);
    const frozen = await frozenPeer(port);
    await until(() => server.connections.size === 2);
    const chunk = 'z'.repeat(16 * 1024);
    let maxBuffered = 0;
    let sent = 0;
    // 64 MiB offered in total: far more than the socket buffers and the limit together.
    while (server.connections.size === 2 && sent < 4096) {
      server.notifyAll('bulk', chunk);
      sent++;
      for (const c of server.connections) maxBuffered = Math.max(maxBuffered, c.buffered);
      if (sent % 4 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(server.connections.size).toBe(1);
    expect(sent).toBeLessThan(4096);
    expect(maxBuffered).toBeLessThanOrEqual(limit + chunk.length + 64);
    frozen.destroy();
    state.set(['n'], 1);
    await until(() => (healthy.state as { n: number }).n === 1);
  });
});

describe('juggler server: shutdown', () => {
  it('close() cuts connections that do not finish the close handshake within shutdownTimeout', async () => {
    const { server, port } = await startJuggler({ shutdownTimeout: 200 });
    await frozenPeer(port);
    await until(() => server.connections.size === 1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.connections.size).toBe(0);
  });
});
