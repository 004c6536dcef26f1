import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/*
 * The published package as a user gets it: `npm pack` of a copy of the sources (prepack builds
 * dist/), installed from the .tgz into a fresh ESM application and a fresh CommonJS one, each
 * running a server and a client through the package. Installs prefer the local npm cache.
 */

const exec = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: 240_000 });

let work: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vsoa-pack-'));
  // A copy, so that packing (which builds dist/) never touches the working tree.
  const source = join(work, 'source');
  mkdirSync(source);
  for (const f of [
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'README.md',
    'LICENSE',
    'binding.gyp',
  ]) {
    cpSync(join(repoRoot, f), join(source, f));
  }
  for (const d of ['src', 'native', 'scripts'])
    cpSync(join(repoRoot, d), join(source, d), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(source, 'node_modules'));
  const { stdout } = await npm(['pack', '--json', '--pack-destination', work], source);
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = join(work, info!.filename);
  files = info!.files.map((f) => f.path);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh application with the tarball installed (no install scripts: the addon is optional). */
async function app(name: string, type: 'module' | 'commonjs', extra: string[] = []): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  await npm(['install', '--prefer-offline', '--ignore-scripts', tarball, ...extra], dir);
  return dir;
}

/** Type-checks `source` as a consumer would (module node16, the package's own .d.ts checked too). */
async function typecheck(dir: string, source: string): Promise<void> {
  writeFileSync(join(dir, 'check.ts'), source);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(repoRoot, 'node_modules', '@types')],
      },
      files: ['check.ts'],
    }),
  );
  await exec(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {
    cwd: dir,
    timeout: 120_000,
  });
}

const typedSource = `import { Client, type ClientEvents, statusName } from 'vsoa-edge';
const client: Client = new Client();
const name: string = statusName(3);
const events: keyof ClientEvents = 'disconnect';
export { client, name, events };
`;

/** Bytes under a directory. */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const script = (load: string) => `
${load}
const server = new Server({ info: { name: 'pack test' } });
server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
await server.listen(0, '127.0.0.1');
const client = new Client();
const code = await client.connect('vsoa://127.0.0.1:' + server.address().port);
const { header, payload } = await client.fetch('/echo', { payload: { param: { hi: 1 } } });
client.close();
await server.close();
console.log(JSON.stringify({ code, status: header.status, param: payload.param, name: statusName(3), native: typeof nativeStatus().loaded }));
`;

const expected = { code: 0, status: 0, param: { hi: 1 }, name: 'INVALID_URL', native: 'boolean' };

describe('the packed tarball', () => {
  it('ships dist/ (ESM, CommonJS, the CLI bundle, types without internals) and LICENSE, no source maps', () => {
    for (const f of [
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/index.cjs',
      'dist/cli/vsoa.cjs',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
  });

  it('works from an ESM application, which installs none of the CLI or outer-room dependencies', async () => {
    const dir = await app('esm-app', 'module');
    writeFileSync(
      join(dir, 'main.mjs'),
      script("import { Client, Server, statusName, nativeStatus } from 'vsoa-edge';"),
    );
    const { stdout } = await exec(process.execPath, ['main.mjs'], { cwd: dir, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
    for (const dep of ['commander', 'pino-pretty', 'hdr-histogram-js', 'ws', 'mqtt', '@mcap/core']) {
      expect(existsSync(join(dir, 'node_modules', dep)), dep).toBe(false);
    }
    await typecheck(dir, typedSource);
    // stripInternal: @internal members are not in the published types.
    const remote = readFileSync(join(dir, 'node_modules/vsoa-edge/dist/server/remote-client.d.ts'), 'utf8');
    expect(remote).toMatch(/class RemoteClient/);
    expect(remote).not.toMatch(/FrameConnection|constructor\(/);
    // The figure the README quotes: what a library-only user installs.
    console.log(`library-only install: ${(sizeOf(join(dir, 'node_modules')) / 1e6).toFixed(1)} MB`);
    // The command comes with its dependencies inside (one bundle).
    const version = await exec(join(dir, 'node_modules', '.bin', 'vsoa'), ['--version'], { cwd: dir });
    expect(version.stdout).toMatch(
      /^vsoa-edge \d+\.\d+\.\d+ .*\nnative addon: (loaded|not loaded \(.+\))\n$/,
    );
  }, 300_000);

  it('works from a CommonJS application with require(), subpaths included', async () => {
    // The juggler subpath with its optional peers installed; the others without theirs.
    const dir = await app('cjs-app', 'commonjs', ['ws', 'bcryptjs', 'apache-md5', 'fast-json-patch']);
    const body = script("const { Client, Server, statusName, nativeStatus } = require('vsoa-edge');");
    writeFileSync(
      join(dir, 'main.cjs'),
      `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const { stdout } = await exec(process.execPath, ['main.cjs'], { cwd: dir, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
    // TypeScript in a CommonJS package compiles the import to require(): the CommonJS types.
    await typecheck(dir, typedSource);

    const probe = `
      const out = {};
      for (const sub of ['juggler', 'mqtt', 'record', 'files']) {
        try { out[sub] = Object.keys(require('vsoa-edge/' + sub)).length > 0 ? 'loaded' : 'empty'; }
        catch (e) { out[sub] = e.code === 'MODULE_NOT_FOUND' ? 'needs ' + /'([^']+)'/.exec(e.message)[1] : e.code; }
      }
      // One core for every subpath: the juggler's Client is the package's.
      console.log(JSON.stringify(out));`;
    const r = await exec(process.execPath, ['-e', probe], { cwd: dir, timeout: 30_000 });
    const loaded = JSON.parse(r.stdout) as Record<string, string>;
    expect(loaded.juggler).toBe('loaded');
    expect(loaded.files).toBe('loaded');
    // Without their optional peers, the others say which package to install.
    expect(loaded.mqtt).toMatch(/^(loaded|needs mqtt)$/);
    expect(loaded.record).toMatch(/^(loaded|needs (@mcap\/core|lz4js|@foxglove\/wasm-zstd))/);
  }, 300_000);
});
