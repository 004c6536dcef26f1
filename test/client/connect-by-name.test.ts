import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ConnectCode, fetch, Server, type VsoaError } from '../../src/index.js';
import { onCleanup, startServer } from '../helpers/net.js';
import { positionServer } from '../helpers/position.js';
import { makePki, type Pki } from '../tls/pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

describe('connecting by name through the position service', () => {
  it('connects to vsoa://myserver/ and fetches vsoa://myserver/echo', async () => {
    const { server, port } = await startServer({ info: 'found by name' });
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    await positionServer([{ name: 'MyServer', domain: 2, addr: '127.0.0.1', port }]);
    const client = new Client();
    onCleanup(() => client.close());
    const info: unknown[] = [];
    client.onconnect = (_c, up, i) => up && info.push(i);
    expect(await client.connect('vsoa://myserver/')).toBe(ConnectCode.OK);
    expect(info).toEqual(['found by name']);
    const r = await fetch('vsoa://myserver/echo', { payload: { param: 7 } });
    expect(r.payload.param).toBe(7);
  });

  it('reports SERVER_NOT_FOUND for an unknown name', async () => {
    await positionServer([]);
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect('vsoa://nobody/')).toBe(ConnectCode.SERVER_NOT_FOUND);
    const error = await fetch('vsoa://nobody/echo').catch((e: VsoaError) => e);
    expect((error as VsoaError).connectCode).toBe(ConnectCode.SERVER_NOT_FOUND);
  });

  it('a security: true entry requires TLS options, says so when missing, and connects with them', async () => {
    const server = new Server({ info: 'tls by name' });
    await server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKey });
    onCleanup(() => server.close());
    await positionServer([
      { name: 'secure', domain: 2, addr: '127.0.0.1', port: server.address().port, security: true },
    ]);
    const client = new Client();
    onCleanup(() => client.close());
    await expect(client.connect('vsoa://secure/')).rejects.toThrow(/requires TLS.*options\.tls/);
    expect(await client.connect('vsoa://secure/', { tls: { caCert: pki.caCert } })).toBe(ConnectCode.OK);
    expect(client.getPeerCert()).not.toBeNull();
  });
});
