import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QPACKET_LENGTH, Position, Server } from '../../src/index.js';
import { repoRoot, vsoa } from '../helpers/cli.js';
import { onCleanup, startServer, until } from '../helpers/net.js';

const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs the CLI with `input` on stdin and extra environment. */
function vsoaWith(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    delete env.VSOA_PASSWD;
    const child = execFile(
      process.execPath,
      [...cliArgs, ...args],
      { cwd: repoRoot, env, timeout: 25_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsoa-cli-more-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function echoServer(): Promise<string> {
  const { server, url } = await startServer();
  server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
  return url;
}

describe('payloads', () => {
  it('--data @- reads stdin, --param @file reads JSON, -m sends text as data', async () => {
    const url = await echoServer();
    const stdin = await vsoaWith(['call', `${url}/echo`, '--data', '@-', '--json'], { input: 'abc' });
    expect(JSON.parse(stdin.stdout)).toMatchObject({ status: 0, data: '616263' });
    const file = join(dir, 'param.json');
    writeFileSync(file, '{"from":"file"}');
    const fromFile = await vsoa('call', `${url}/echo`, '--param', `@${file}`, '--json');
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ param: { from: 'file' } });
    const paramStdin = await vsoaWith(['call', `${url}/echo`, '--param', '@-', '--json'], { input: '[1]' });
    expect(JSON.parse(paramStdin.stdout)).toMatchObject({ param: [1] });
    const text = await vsoa('call', `${url}/echo`, '-m', 'héllo', '--json');
    expect(Buffer.from(JSON.parse(text.stdout).data as string, 'hex').toString()).toBe('héllo');
    const both = await vsoa('call', `${url}/echo`, '-m', 'x', '--data', '00');
    expect(both.code).toBe(2);
    const badFile = await vsoa('call', `${url}/echo`, '--param', `@${join(dir, 'nope.json')}`);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/cannot read .*ENOENT/);
  }, 60_000);

  it('a quick publish over the quick limit is refused before connecting, naming the limit', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(MAX_QPACKET_LENGTH));
    const r = await vsoa('pub', 'vsoa://127.0.0.1:1/t', '--quick', '--data', `@${big}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`limit of ${MAX_QPACKET_LENGTH} bytes`));
  }, 30_000);

  it('pub --json --count publishes n times, one JSON line each', async () => {
    const { server, url } = await startServer();
    let published = 0;
    server.command('/publish', (cli, req) => {
      published++;
      cli.reply(req.seqno);
    });
    const r = await vsoa('pub', `${url}/t`, '--count', '3', '--json', '--param', '1');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { published: '/t', quick: false, n: 1 },
      { published: '/t', quick: false, n: 2 },
      { published: '/t', quick: false, n: 3 },
    ]);
    expect(published).toBe(3);
  }, 30_000);
});

describe('names in messages', () => {
  it('call names a non-zero status on stderr and exits 1', async () => {
    const url = await echoServer();
    const r = await vsoa('call', `${url}/nothing`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('status 3 INVALID_URL: (empty)\n');
    expect(r.stderr).toMatch(/status 3 INVALID_URL: no such command/);
  }, 30_000);

  it('connect failures carry the code and its name', async () => {
    const r = await vsoa('call', 'vsoa://127.0.0.1:1/x', '--timeout', '2000');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/code 1 ERROR: connection refused/);
  }, 30_000);
});

describe('sub reconnects', () => {
  it('by default: logs the lost url, reconnects and re-subscribes; --no-reconnect exits 1 naming it', async () => {
    const first = new Server();
    await first.listen(0, '127.0.0.1');
    const { port } = first.address();
    const url = `vsoa://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [...cliArgs, 'sub', `${url}/t`, '--json', '--log-level', 'warn'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await until(() => first.isSubscribed('/t'), 15_000, 'subscription');
    first.publish('/t', { param: 1 });
    await until(() => lines.length === 1, 5000, 'first message');
    await first.close();
    await until(() => stderr.includes(`lost the connection to ${url}`), 5000, 'lost line');
    const second = new Server();
    await second.listen(port, '127.0.0.1');
    onCleanup(() => second.close());
    await until(() => second.isSubscribed('/t'), 15_000, 're-subscription');
    second.publish('/t', { param: 2 });
    await until(() => lines.length === 2, 5000, 'second message');
    expect(lines.map((l) => JSON.parse(l).param)).toEqual([1, 2]);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/\n\s+at /);

    // --no-reconnect: the loss is the end.
    const once2 = spawn(
      process.execPath,
      [...cliArgs, 'sub', `${url}/t`, '--no-reconnect', '--log-level', 'silent'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    onCleanup(() => {
      if (once2.exitCode === null) once2.kill('SIGKILL');
    });
    let err2 = '';
    once2.stderr.on('data', (c: Buffer) => {
      err2 += c.toString();
    });
    await until(() => second.isSubscribed('/t') && second.count() >= 1, 15_000, 'no-reconnect subscriber');
    const exited = once(once2, 'exit');
    await second.close();
    const [code2] = await exited;
    expect(code2).toBe(1);
    expect(err2).toBe(`vsoa sub: connection lost: ${url}/t\n`);
  }, 60_000);

  it('a first connect that fails ends sub with the code by name (exit 1)', async () => {
    const r = await vsoa('sub', 'vsoa://127.0.0.1:1/t', '--timeout', '2000');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/code 1 ERROR/);
  }, 30_000);
});

describe('lookup', () => {
  it('--json prints an object for a miss too; localhost is accepted in --server', async () => {
    const position = new Position(null, {
      table: [{ name: 'here', domain: 2, addr: '127.0.0.1', port: 3005, security: false }],
    });
    await position.listen(0, '127.0.0.1');
    onCleanup(() => position.close());
    const port = (position.address() as net.AddressInfo).port;
    const pos = ['--server', `localhost:${port}`, '--pos-file', join(dir, 'none.pos')];
    const hit = await vsoaWith(['lookup', 'here', '--json', ...pos], { env: { VSOA_POS_SERVER: '' } });
    expect(JSON.parse(hit.stdout)).toMatchObject({ name: 'here', addr: '127.0.0.1', port: 3005 });
    const miss = await vsoaWith(['lookup', 'gone', '--json', ...pos], { env: { VSOA_POS_SERVER: '' } });
    expect(miss.code).toBe(1);
    expect(JSON.parse(miss.stdout)).toMatchObject({ name: 'gone', found: false, reason: 'not-found' });
    const none = await vsoaWith(['lookup', 'gone', '--json', '--pos-file', join(dir, 'none.pos')], {
      env: { VSOA_POS_SERVER: '' },
    });
    expect(JSON.parse(none.stdout)).toMatchObject({ found: false, reason: 'no-server' });
  }, 60_000);
});

describe('help, quiet and colours', () => {
  it("each verb's --help lists exit status and environment", async () => {
    for (const verb of ['call', 'sub', 'pub', 'ping', 'serve', 'robot', 'lookup']) {
      const r = await vsoa(verb, '--help');
      expect(r.code, verb).toBe(0);
      expect(r.stdout, verb).toMatch(/Exit status:\n\s+0 /);
      expect(r.stdout, verb).toMatch(/\n\s+2\s+\S/);
      expect(r.stdout, verb).toMatch(/Environment:\n/);
    }
    const top = await vsoa('--help');
    expect(top.stdout).toMatch(/VSOA_PASSWD/);
    expect(top.stdout).toMatch(/NO_COLOR/);
  }, 60_000);

  it('-q keeps results and drops narration', async () => {
    const { server, url } = await startServer();
    server.command('/publish', (cli, req) => cli.reply(req.seqno));
    expect((await vsoa('pub', `${url}/t`)).stdout).toBe('published /t\n');
    expect(await vsoa('-q', 'pub', `${url}/t`)).toMatchObject({ code: 0, stdout: '' });
    const ping = await vsoa('ping', url, '--count', '2', '--interval', '0', '-q');
    expect(ping.stdout).toMatch(/^2\/2 answered, median [\d.]+ ms\n$/);
  }, 60_000);

  it('NO_COLOR turns colours off in pretty logs', async () => {
    const script = `
      const { installCliLogger } = await import('./src/cli/logging.ts');
      installCliLogger({ level: 'info', pretty: true }).warn('plain');`;
    const run = (env: Record<string, string>) =>
      new Promise<string>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script],
          { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '1', ...env } },
          (_e, _o, stderr) => resolve(stderr),
        ),
      );
    expect(await run({})).toContain('\u001b[');
    expect(await run({ NO_COLOR: '1' })).not.toContain('\u001b[');
  }, 30_000);
});
