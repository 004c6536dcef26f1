import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOptionsFrom, listenOptionsFrom, tlsFromConfig } from '../../src/cli/connect-options.js';
import { UsageError } from '../../src/cli/errors.js';
import { repoRoot } from '../helpers/cli.js';
import { onCleanup } from '../helpers/net.js';
import { makePki, type Pki } from '../tls/pki.js';

const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of ['VSOA_PASSWD', 'VSOA_LOG_LEVEL', 'NOTIFY_SOCKET', 'WATCHDOG_USEC']) delete e[k];
  return { ...e, ...extra };
}

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgs, ...args],
      { cwd: repoRoot, env: cleanEnv(env), timeout: 25_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** `vsoa serve ... --port 0 --json` in the background; resolves its url once it listens. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...cliArgs, 'serve', '--port', '0', '--host', 'localhost', '--json', ...args],
    {
      cwd: repoRoot,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const { listening } = JSON.parse(line) as { listening: { addr: string; port: number } };
  expect(listening.addr).toBe('127.0.0.1'); // --host localhost
  return { url: `vsoa://127.0.0.1:${listening.port}`, child };
}

let pki: Pki;
let dir: string;
beforeAll(() => {
  pki = makePki();
  dir = mkdtempSync(join(tmpdir(), 'vsoa-cli-tls-'));
});
afterAll(() => {
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS flags', () => {
  it('serve --cert/--key and call --ca talk TLS; without a trusted CA the code is named', async () => {
    const { url } = await serve(['--cert', pki.serverCert, '--key', pki.serverKey]);
    const ok = await run(['call', `${url}/echo`, '--ca', pki.caCert, '--param', '"hi"']);
    expect(ok).toMatchObject({ code: 0, stdout: 'status 0 SUCCESS: param="hi"\n' });

    const untrusted = await run(['call', `${url}/echo`, '--tls', '--timeout', '5000']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/code 7 SSL_HS_FAILED: TLS handshake failed/);
    expect(untrusted.stderr).not.toMatch(/\n\s+at /);

    const insecure = await run(['call', `${url}/echo`, '--insecure']);
    expect(insecure.code).toBe(0);

    const plain = await run(['call', `${url}/echo`, '--timeout', '3000']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/code \d [A-Z_]+: /);
  }, 60_000);

  it('sub and ping take the same flags', async () => {
    const { url } = await serve(['--cert', pki.serverCert, '--key', pki.serverKey]);
    const ping = await run(['ping', url, '--ca', pki.caCert, '--count', '1', '--json']);
    expect(ping.code).toBe(0);
    expect(JSON.parse(ping.stdout)).toMatchObject({ sent: 1, received: 1 });
    // The demo server publishes /time every second.
    const sub = await run(['sub', `${url}/time`, '--ca', pki.caCert, '--count', '1', '--json']);
    expect(sub.code).toBe(0);
    expect(JSON.parse(sub.stdout)).toMatchObject({ url: '/time', quick: false });
  }, 60_000);

  it('robot --config with a "tls" key reaches a TLS server', async () => {
    const { url } = await serve(['--cert', pki.serverCert, '--key', pki.serverKey]);
    const config = join(dir, 'robot-tls.json');
    writeFileSync(config, JSON.stringify({ server: url, subscribe: ['/time'], tls: { ca: pki.caCert } }));
    const child = spawn(process.execPath, [...cliArgs, 'robot', '--log-level', 'warn', '--config', config], {
      cwd: repoRoot,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve),
    );
    expect(JSON.parse(line)).toMatchObject({ url: '/time' });
    child.kill('SIGTERM');
  }, 40_000);

  it('maps flags and config keys, refusing mistakes as usage errors', () => {
    expect(connectOptionsFrom({})).toEqual({ passwd: '', timeout: 10_000 });
    const tls = connectOptionsFrom({ ca: pki.caCert, servername: 'localhost', timeout: 5 });
    expect(tls.timeout).toBe(5);
    expect(tls.tls).toMatchObject({ hostname: 'localhost', handshakeErrorLog: true });
    expect(Buffer.isBuffer(tls.tls?.caCert)).toBe(true);
    expect(connectOptionsFrom({ insecure: true }).tls).toMatchObject({ verifyMode: 'none' });
    expect(() => connectOptionsFrom({ cert: pki.clientCert })).toThrow(UsageError);
    expect(() => connectOptionsFrom({ ca: join(dir, 'missing.pem') })).toThrow(/--ca: cannot read .*ENOENT/);
    expect(() => listenOptionsFrom({ tls: true })).toThrow(/--cert FILE and --key FILE/);
    expect(listenOptionsFrom({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert }).tls).toBeDefined();
    expect(tlsFromConfig(undefined, 'f')).toBeUndefined();
    expect(tlsFromConfig(true, 'f')).toEqual({ handshakeErrorLog: true });
    expect(() => tlsFromConfig({ cafile: 'x' }, 'robot config r.json')).toThrow(
      'robot config r.json: unknown key "tls.cafile"',
    );
    expect(() => tlsFromConfig('yes', 'f')).toThrow(UsageError);
    expect(() => tlsFromConfig({ insecure: 'yes' }, 'f')).toThrow(/tls.insecure/);
  });
});

describe('passwords off the command line', () => {
  it('serve --passwd-file, call with VSOA_PASSWD or --passwd-file; a wrong one is named', async () => {
    const file = join(dir, 'passwd');
    writeFileSync(file, 's3cret\n');
    const { url } = await serve(['--passwd-file', file]);
    const byEnv = await run(['call', `${url}/echo`], { VSOA_PASSWD: 's3cret' });
    expect(byEnv.code).toBe(0);
    const byFile = await run(['call', `${url}/echo`, '--passwd-file', file]);
    expect(byFile.code).toBe(0);
    const wrong = await run(['call', `${url}/echo`], { VSOA_PASSWD: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/code 6 INVALID_PASSWD: wrong password: .*VSOA_PASSWD/);
    const both = await run(['call', `${url}/echo`, '--passwd', 'a', '--passwd-file', file]);
    expect(both.code).toBe(2);
    const missing = await run(['call', `${url}/echo`, '--passwd-file', join(dir, 'none')]);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/--passwd-file: cannot read .*ENOENT/);
  }, 60_000);
});
