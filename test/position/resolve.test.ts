import { afterEach, describe, expect, it } from 'vitest';
import { clearLookupCache, Position, parseVsoaUrl, resolveServerUrl } from '../../src/position/index.js';
import { ConnectCode } from '../../src/protocol/constants.js';
import { VsoaError } from '../../src/protocol/errors.js';
import { fakeServer, NO_FILE, onCleanup, runCleanups } from './helpers.js';

afterEach(async () => {
  clearLookupCache();
  await runCleanups();
});

async function positionEnv(): Promise<NodeJS.ProcessEnv> {
  const p = new Position(null, {
    table: [
      { name: 'myserver', addr: '127.0.0.1', port: 3005 },
      { name: 'secure', addr: '::1', port: 3443, security: true },
    ],
  });
  await p.listen(0, '127.0.0.1');
  onCleanup(() => p.close());
  return { VSOA_POS_SERVER: `127.0.0.1:${p.address()!.port}` };
}

describe('parseVsoaUrl', () => {
  it('splits host, port and raw path', () => {
    expect(parseVsoaUrl('vsoa://1.2.3.4:3005/a b/%41')).toEqual({
      host: '1.2.3.4',
      literal: true,
      port: 3005,
      path: '/a b/%41',
    });
    expect(parseVsoaUrl('vsoa://[::1]:3005')).toEqual({ host: '::1', literal: true, port: 3005, path: '/' });
    expect(parseVsoaUrl('VSOA://LocalHost:1/x')).toEqual({
      host: '127.0.0.1',
      literal: true,
      port: 1,
      path: '/x',
    });
    expect(parseVsoaUrl('vsoa://myserver/echo')).toEqual({
      host: 'myserver',
      literal: false,
      port: undefined,
      path: '/echo',
    });
  });

  it('throws TypeError for what is not a vsoa url, RangeError for a port out of range', () => {
    for (const bad of [
      'http://1.2.3.4:3005/',
      '1.2.3.4:3005',
      'vsoa://',
      'vsoa:///path',
      'vsoa://[::1:3005/',
      'vsoa://[::1]x/',
      'vsoa://[1.2.3.4]:5/',
      'vsoa://host:/',
      'vsoa://host:abc/',
      'vsoa://user@host:1/',
      42,
    ]) {
      expect(() => parseVsoaUrl(bad as string), String(bad)).toThrow(TypeError);
    }
    expect(() => parseVsoaUrl('vsoa://host:0/')).toThrow(RangeError);
    expect(() => parseVsoaUrl('vsoa://host:65536/')).toThrow(RangeError);
  });
});

describe('resolveServerUrl', () => {
  const opts = { env: {}, file: NO_FILE, timeout: 200 };

  it('uses an IP host as it is, without asking anyone', async () => {
    const silent = await fakeServer();
    const env = { VSOA_POS_SERVER: `127.0.0.1:${silent.port}` };
    expect(await resolveServerUrl('vsoa://10.0.0.1:3005/echo', { ...opts, env })).toEqual({
      host: '10.0.0.1',
      port: 3005,
      path: '/echo',
      security: false,
    });
    expect(await resolveServerUrl('vsoa://[::1]:3005', { ...opts, env })).toMatchObject({
      host: '::1',
      path: '/',
    });
    expect(await resolveServerUrl('vsoa://localhost:7/', { ...opts, env })).toMatchObject({
      host: '127.0.0.1',
    });
    expect(silent.queries).toEqual([]);
  });

  it('requires a port for an IP host', async () => {
    await expect(resolveServerUrl('vsoa://10.0.0.1/echo', opts)).rejects.toThrow(/port is missing/);
    await expect(resolveServerUrl('vsoa://localhost', opts)).rejects.toThrow(TypeError);
    await expect(resolveServerUrl('http://10.0.0.1:1/', opts)).rejects.toThrow(TypeError);
  });

  it('looks a name up: address, port and security from the answer', async () => {
    const env = await positionEnv();
    expect(await resolveServerUrl('vsoa://myserver/echo', { ...opts, env })).toEqual({
      host: '127.0.0.1',
      port: 3005,
      path: '/echo',
      security: false,
      name: 'myserver',
    });
    expect(await resolveServerUrl('vsoa://Secure', { ...opts, env })).toEqual({
      host: '::1',
      port: 3443,
      path: '/',
      security: true,
      name: 'Secure',
    });
  });

  it('a port in the url overrides the answer; domain is passed to the lookup', async () => {
    const env = await positionEnv();
    expect(await resolveServerUrl('vsoa://myserver:4000/x', { ...opts, env })).toMatchObject({ port: 4000 });
    await expect(resolveServerUrl('vsoa://secure/', { ...opts, env, domain: 2 })).rejects.toThrow(VsoaError);
  });

  it('rejects an unknown name with VsoaError SERVER_NOT_FOUND', async () => {
    const env = await positionEnv();
    const err = await resolveServerUrl('vsoa://nosuch/', { ...opts, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VsoaError);
    expect((err as VsoaError).connectCode).toBe(ConnectCode.SERVER_NOT_FOUND);
    expect((err as VsoaError).message).toMatch(/not found/);
  });

  it('rejects with SERVER_NOT_FOUND when no position server is configured', async () => {
    const err = await resolveServerUrl('vsoa://myserver/', opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VsoaError);
    expect((err as VsoaError).connectCode).toBe(ConnectCode.SERVER_NOT_FOUND);
    expect((err as VsoaError).message).toMatch(/no position server configured/);
  });
});
