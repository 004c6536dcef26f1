import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { firstLine, spawnVsoa } from '../helpers/cli.js';
import { onCleanup, startServer } from '../helpers/net.js';

/**
 * `vsoa VERB | head -1`: the reader goes away after one line while the verb keeps writing.
 * The verb must end quietly with status 0 (no EPIPE stack trace).
 */
async function closedAfterFirstLine(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawnVsoa('--log-level', 'warn', ...args);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = once(child, 'exit');
  await firstLine(child);
  child.stdout?.destroy(); // as head does after its line
  const [code] = await exited;
  // A server on a host whose net.core.rmem_max is below the 32 MiB quick buffer (a stock kernel)
  // warns once that it was capped: the host's state, not the pipe's. Anything else must be absent.
  const own = stderr
    .split('\n')
    .filter((line) => line !== '' && !line.includes('quick receive buffer capped by the kernel'))
    .join('\n');
  return { code: code as number | null, stderr: own };
}

/** A server publishing /tick every 10 ms to whoever subscribed. */
async function ticking(): Promise<string> {
  const { server, url } = await startServer();
  const timer = setInterval(() => server.publish('/tick', { param: Date.now() }), 10);
  onCleanup(() => clearInterval(timer));
  return url;
}

describe('a closed stdout ends every verb quietly', () => {
  it('sub', async () => {
    const url = await ticking();
    const r = await closedAfterFirstLine('sub', `${url}/tick`);
    expect(r).toEqual({ code: 0, stderr: '' });
  }, 30_000);

  it('ping', async () => {
    const { url } = await startServer();
    const r = await closedAfterFirstLine('ping', url, '--count', '100000', '--interval', '1');
    expect(r).toEqual({ code: 0, stderr: '' });
  }, 30_000);

  it('robot', async () => {
    const url = await ticking();
    const r = await closedAfterFirstLine('robot', url, '--sub', '/tick');
    expect(r).toEqual({ code: 0, stderr: '' });
  }, 30_000);

  it('demo', async () => {
    const r = await closedAfterFirstLine('demo');
    expect(r).toEqual({ code: 0, stderr: '' });
  }, 30_000);
});
