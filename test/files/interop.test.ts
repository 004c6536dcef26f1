import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFile, putFile } from '../../src/files/index.js';
import { Client, ConnectCode, Server } from '../../src/index.js';
import { onCleanup } from '../helpers/net.js';
import { officialReceive, officialStreamClient } from '../stream/official-streams.js';
import { makePki } from '../tls/pki.js';
import { fileServer, MiB, sha256Of, tempDir, writeRandom } from './helpers.js';

describe('files: plain VSOA, TLS, robot mode', () => {
  it('the official npm vsoa client downloads a file with its own createStream', async () => {
    const { root, url } = await fileServer();
    const source = writeRandom(root, 'map.bin', 3 * MiB + 7);
    const official = await officialStreamClient(url);
    const reply = (await official.fetch('/files/map.bin')) as {
      payload?: { param?: { size: number; sha256: string } };
      tunid?: number;
    };
    const info = reply.payload?.param;
    expect(info?.size).toBe(3 * MiB + 7);
    const stream = official.createStream(reply.tunid as number);
    const bytes = Buffer.concat(await officialReceive(stream));
    expect(bytes.length).toBe(info?.size);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(sha).toBe(info?.sha256);
    expect(sha).toBe(sha256Of(source));
  });

  it('over TLS: the streams follow the server TLS', async () => {
    const pki = makePki();
    const root = tempDir('tls');
    const server = new Server();
    await server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKey });
    onCleanup(() => server.close());
    const service = await server.serveFiles('/files', root, { writable: true });
    expect(service.root).toBe(realpathSync(root));
    const client = new Client();
    onCleanup(() => client.close());
    const code = await client.connect(`vsoa://127.0.0.1:${server.address().port}`, {
      tls: { caCert: pki.caCert },
    });
    expect(code).toBe(ConnectCode.OK);
    const source = writeRandom(tempDir('tls-src'), 'cal.bin', 2 * MiB);
    await putFile(client, source, '/files/cal.bin');
    const dest = path.join(tempDir('tls-dl'), 'cal.bin');
    const result = await getFile(client, '/files/cal.bin', dest);
    expect(result.sha256).toBe(sha256Of(source));
    expect(sha256Of(dest)).toBe(sha256Of(source));
  }, 30_000);

  it('in robot mode a broken download resumes by itself, once', async () => {
    const { root, url, streams } = await fileServer();
    const source = writeRandom(root, 'log.bin', 16 * MiB);
    const client = new Client();
    onCleanup(() => client.close());
    const up = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.robot(url, { reconnDelay: 100 });
    await up;
    const dest = path.join(tempDir('robot'), 'log.bin');
    let cut = false;
    const result = await getFile(client, '/files/log.bin', dest, {
      onProgress: (p) => {
        if (!cut && p.bytes > 4 * MiB) {
          cut = true;
          streams.at(-1)?.destroy();
        }
      },
    });
    expect(cut).toBe(true);
    expect(result.offset).toBeGreaterThan(4 * MiB);
    expect(sha256Of(dest)).toBe(sha256Of(source));
  }, 30_000);
});
