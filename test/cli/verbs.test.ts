import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Client, ConnectCode } from '../../src/index.js';
import { firstLine, spawnVsoa, vsoa } from '../helpers/cli.js';
import { deferred, onCleanup, startServer } from '../helpers/net.js';

describe('vsoa call / ping / sub / pub', () => {
  it('calls a command and prints the reply, human and JSON', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    const human = await vsoa('call', `${url}/echo`, '--param', '{"a":1}', '--data', '0a0b');
    expect(human).toMatchObject({ code: 0 });
    expect(human.stdout).toBe('status 0 SUCCESS: param={"a":1} data=2 B 0a0b\n');
    const json = await vsoa('call', `${url}/echo`, '--set', '--param', '"x"', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ status: 0, tunid: 0, param: 'x' });
  });

  it('exits 1 with the status for an unknown command, and explains a refused connection', async () => {
    const { url } = await startServer();
    const unknown = await vsoa('call', `${url}/nothing`);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/^status 3/);
    const refused = await vsoa('call', 'vsoa://127.0.0.1:1/echo', '--timeout', '2000');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused or failed/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects bad arguments with one line and exit 2, no stack trace', async () => {
    for (const args of [
      ['call', 'vsoa://127.0.0.1:3005/x', '--param', '{bad'],
      ['call', 'vsoa://127.0.0.1:3005/x', '--data', 'xyz'],
      ['call', 'http://example/x'],
      ['call', 'vsoa://127.0.0.1/x'],
      ['ping', 'vsoa://127.0.0.1:3005', '--count', '0'],
      ['sub', 'vsoa://127.0.0.1:3005/a', 'no-slash'],
      ['serve', '--port', '70000'],
    ]) {
      const r = await vsoa(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--help|must|not valid|port/);
    }
  });

  it('subscribes and prints messages until --count', async () => {
    const { server, url } = await startServer();
    server.onclient = (cli, connected) => {
      if (!connected) return;
      cli.onsubscribe = () => {
        server.publish('/t/a', { param: 1 });
        server.publish('/other', { param: 'no' });
        server.publish('/t/b', { param: 2, data: Buffer.from([255]) });
      };
    };
    const r = await vsoa('sub', `${url}/t/`, '--count', '2', '--json');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { url: '/t/a', quick: false, param: 1 },
      { url: '/t/b', quick: false, param: 2, data: 'ff' },
    ]);
  });

  it('pings and summarises', async () => {
    const { url } = await startServer();
    const r = await vsoa('ping', url, '--count', '3', '--interval', '0', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 3, received: 3, lost: 0 });
  });
});

describe('vsoa serve and pub', () => {
  it('serves the demo application and stops cleanly on SIGTERM', async () => {
    const child = spawnVsoa('serve', '--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn');
    const { listening } = JSON.parse(await firstLine(child)) as { listening: { port: number } };
    const url = `vsoa://127.0.0.1:${listening.port}`;
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    const got = deferred<unknown>();
    client.onmessage = (_c, topic, payload) => topic === '/news' && got.resolve(payload.param);
    await new Promise((r) => client.subscribe('/news', r));
    const pub = await vsoa('pub', `${url}/news`, '--param', '{"n":1}');
    expect(pub).toMatchObject({ code: 0, stdout: 'published /news\n' });
    expect(await got.promise).toEqual({ n: 1 });
    const echo = await vsoa('call', `${url}/echo`, '--param', '[1,2]');
    expect(echo.stdout).toBe('status 0 SUCCESS: param=[1,2]\n');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('pub reports a server without a publish command', async () => {
    const { url } = await startServer();
    const r = await vsoa('pub', `${url}/x`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no \/publish command/);
  });

  it('demo runs end to end', async () => {
    const r = await vsoa('demo', '--log-level', 'warn');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/demo done/);
  });
});
