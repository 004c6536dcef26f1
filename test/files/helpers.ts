import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FileHost, FileStream, ServeFilesOptions } from '../../src/files/index.js';
import { serveFiles } from '../../src/files/index.js';
import { Client, ConnectCode, Server } from '../../src/index.js';
import { onCleanup } from '../helpers/net.js';

export const MiB = 1024 * 1024;

export function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `vsoa-files-${name}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Writes `bytes` random bytes to root/name (directories made as needed). */
export function writeRandom(root: string, name: string, bytes: number): string {
  const file = path.join(root, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes > 0 ? randomBytes(bytes) : Buffer.alloc(0));
  return file;
}

/** A host that hands the server's streams to the test too, so a transfer can be cut mid-way. */
export function watchedHost(server: Server, streams: FileStream[]): FileHost {
  return {
    command: (url, handler) => server.command(url, handler),
    removeCommand: (url) => server.removeCommand(url),
    createStream: (onlink, ondata, timeout) => {
      const stream = server.createStream(onlink as never, ondata, timeout) as unknown as FileStream;
      streams.push(stream);
      return stream;
    },
  };
}

export interface FileSetup {
  server: Server;
  client: Client;
  root: string;
  url: string;
  streams: FileStream[];
}

/** A server on 127.0.0.1 serving `root` at /files, and a connected client. */
export async function fileServer(
  options: ServeFilesOptions = {},
  root = tempDir('root'),
): Promise<FileSetup> {
  const server = new Server({ info: 'files' });
  await server.listen(0, '127.0.0.1');
  onCleanup(() => server.close());
  const streams: FileStream[] = [];
  serveFiles(watchedHost(server, streams), '/files', root, options);
  const client = new Client();
  onCleanup(() => client.close());
  const url = `vsoa://127.0.0.1:${server.address().port}`;
  if ((await client.connect(url)) !== ConnectCode.OK) throw new Error('connect failed');
  return { server, client, root, url, streams };
}
