import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import { FileTransferError, getFile, listFiles, putFile, type TransferResult } from '../../files/index.js';
import { parseVsoaUrl } from '../../position/resolve.js';
import { connectOrExplain } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';
import { UsageError } from '../errors.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { isQuiet, say } from '../output.js';
import { ProgressBar } from '../progress.js';

interface CpOpts extends ConnectCliOptions {
  recursive?: boolean;
  json?: boolean;
}

interface Copied extends TransferResult {
  url: string;
  path: string;
}

const isRemote = (s: string): boolean => s.startsWith('vsoa://');

/** `vsoa://host:port/files/a` → the server part and the path part. */
function splitRemote(spec: string): { server: string; path: string } {
  let parsed: ReturnType<typeof parseVsoaUrl>;
  try {
    parsed = parseVsoaUrl(spec);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.literal && parsed.port === undefined)
    throw new UsageError(`${spec}: an IP address needs a port`);
  const server = spec.slice(0, spec.length - parsed.path.length) || spec;
  return { server, path: parsed.path };
}

async function download(
  client: Client,
  url: string,
  dest: string,
  opts: CpOpts,
  out: Copied[],
): Promise<void> {
  if (opts.recursive) {
    let entries: Awaited<ReturnType<typeof listFiles>> | undefined;
    try {
      entries = await listFiles(client, url);
    } catch (error) {
      if (!(error instanceof FileTransferError)) throw error;
    }
    if (entries) {
      mkdirSync(dest, { recursive: true });
      const base = url.endsWith('/') ? url : `${url}/`;
      for (const e of entries) await download(client, `${base}${e.name}`, path.join(dest, e.name), opts, out);
      return;
    }
  }
  const bar = new ProgressBar(path.basename(dest), showBar(opts));
  const result = await getFile(client, url, dest, { onProgress: (p) => bar.update(p.bytes, p.total) });
  bar.done();
  out.push({ ...result, url, path: dest });
}

async function upload(
  client: Client,
  source: string,
  url: string,
  opts: CpOpts,
  out: Copied[],
): Promise<void> {
  const info = statSync(source);
  if (info.isDirectory()) {
    if (!opts.recursive) throw new UsageError(`${source} is a directory: use -r`);
    const base = url.endsWith('/') ? url : `${url}/`;
    for (const name of readdirSync(source).sort()) {
      await upload(client, path.join(source, name), `${base}${name}`, opts, out);
    }
    return;
  }
  if (!info.isFile()) return; // special files are not copied
  const bar = new ProgressBar(path.basename(source), showBar(opts));
  const result = await putFile(client, source, url, { onProgress: (p) => bar.update(p.bytes, p.total) });
  bar.done();
  out.push({ ...result, url, path: source });
}

function showBar(opts: CpOpts): boolean {
  return process.stderr.isTTY === true && !opts.json && !isQuiet();
}

export function register(program: Command): void {
  const command = program
    .command('cp')
    .description('copy files to or from a board (scp-like; the server runs `vsoa serve --files`)')
    .argument('<src>', 'a local path, or vsoa://host:port/<prefix>/path')
    .argument('<dst>', 'a local path, or vsoa://host:port/<prefix>/path (one side must be remote)')
    .option('-r, --recursive', 'copy directories')
    .option('--json', 'print one JSON summary instead of a progress bar');
  addConnectOptions(command, { timeoutHelp: 'connect and request timeout' });
  command
    .addHelpText(
      'after',
      helpFooter(
        {
          0: 'every file copied and verified (sha256)',
          1: 'a transfer failed or was refused (the reason on stderr); finished files stay',
          2: USAGE_EXIT,
        },
        CONNECT_ENV,
      ),
    )
    .action(async (src: string, dst: string, opts: CpOpts) => {
      if (isRemote(src) === isRemote(dst))
        throw new UsageError('exactly one of <src> and <dst> must be a vsoa:// url');
      const remote = splitRemote(isRemote(src) ? src : dst);
      const connect = connectOptionsFrom(opts);
      const client = await connectOrExplain({ url: remote.server, path: remote.path }, connect);
      const copied: Copied[] = [];
      const started = Date.now();
      try {
        if (isRemote(src)) {
          let dest = dst;
          const isDir = (() => {
            try {
              return statSync(dst).isDirectory();
            } catch {
              return false;
            }
          })();
          if (isDir)
            dest = path.join(dst, path.posix.basename(remote.path.replace(/\/+$/, '')) || 'download');
          await download(client, remote.path, dest, opts, copied);
        } else {
          const url = remote.path.endsWith('/') ? `${remote.path}${path.basename(src)}` : remote.path;
          await upload(client, src, url, opts, copied);
        }
      } catch (error) {
        if (error instanceof FileTransferError) throw new Error(error.message);
        throw error;
      } finally {
        client.close();
      }
      const seconds = (Date.now() - started) / 1000;
      const total = copied.reduce((n, c) => n + c.transferred, 0);
      if (opts.json) {
        say(
          JSON.stringify({
            files: copied,
            bytes: total,
            seconds,
            bytesPerSecond: Math.round(total / Math.max(seconds, 0.001)),
          }),
        );
      } else if (!isQuiet()) {
        process.stderr.write(`${copied.length} file(s), ${total} bytes in ${seconds.toFixed(2)} s\n`);
      }
    });
}
