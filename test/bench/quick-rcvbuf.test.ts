import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_QUICK_RECV_BUFFER_SIZE } from '../../src/transport/quick-socket.js';

// The raw floors do not load the library, so bench/lib/quick-rcvbuf.ts repeats its default:
// the floor and our server must ask for the same buffer or the quick row compares unlike things.
describe('bench quick receive buffer', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it("defaults to the library's quickRecvBufferSize when BENCH_QUICK_RCVBUF is unset or empty", async () => {
    for (const value of [undefined, '']) {
      vi.resetModules();
      vi.stubEnv('BENCH_QUICK_RCVBUF', value);
      const { QUICK_RCVBUF_BYTES, QUICK_RCVBUF_CHOSEN } = await import('../../bench/lib/quick-rcvbuf.js');
      expect(QUICK_RCVBUF_BYTES).toBe(DEFAULT_QUICK_RECV_BUFFER_SIZE);
      expect(QUICK_RCVBUF_CHOSEN).toBe(false);
    }
  });

  it('takes BENCH_QUICK_RCVBUF bytes when set', async () => {
    vi.stubEnv('BENCH_QUICK_RCVBUF', '1048576');
    const { QUICK_RCVBUF_BYTES, QUICK_RCVBUF_CHOSEN } = await import('../../bench/lib/quick-rcvbuf.js');
    expect(QUICK_RCVBUF_BYTES).toBe(1048576);
    expect(QUICK_RCVBUF_CHOSEN).toBe(true);
  });
});
