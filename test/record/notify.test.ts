import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, spawnVsoa } from '../helpers/cli.js';
import { onCleanup, startServer } from '../helpers/net.js';
import { notifyReceiver } from '../helpers/notify-receiver.js';
import { tempDir } from './helpers.js';

/** sd_notify goes through the native addon; without it nothing is sent (nothing to test). */
const addon = existsSync(join(repoRoot, 'build/Release/vsoa_native.node'));

describe('vsoa record under systemd (Type=notify)', () => {
  it.skipIf(!addon)('says READY=1 once the file is open, a STATUS, and STOPPING=1 on SIGTERM', async () => {
    const rx = await notifyReceiver();
    onCleanup(() => rx.close());
    const { url } = await startServer();
    const old = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = rx.path;
    let child: ReturnType<typeof spawnVsoa>;
    try {
      child = spawnVsoa('record', url, '--sub', '/', '-o', join(tempDir(), 'n.mcap'));
    } finally {
      if (old === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = old;
    }
    await rx.waitFor('READY=1', 20_000);
    await rx.waitFor(/^STATUS=(recording|reconnecting): \d+ publishes/, 15_000);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await rx.waitFor('STOPPING=1', 10_000);
    expect(await exit).toBe(0);
  });
});
