import { describe, expect, it } from 'vitest';
import { JugglerState } from '../../src/juggler/index.js';
import { frames } from '../../src/juggler/wire.js';
import { until } from '../helpers/net.js';
import { connectJuggler, rawSocket, startJuggler } from './helpers.js';

describe('juggler wire generations (0.6: a JSON message per frame; 0.7: prefixed segments, ping/pong)', () => {
  it('a 0.6 server sends plain JSON frames and reads them; our client detects 0.6', async () => {
    const state = new JugglerState({ gen: 'old' });
    const { url } = await startJuggler({ wire: '0.6', state }, (_c, _n, data) => data);
    const raw = await rawSocket(url);
    await until(() => raw.frames.length > 0);
    expect(JSON.parse(raw.frames[0] as string)).toEqual({
      type: 'state',
      diff: [{ op: 'replace', path: '', value: { gen: 'old' } }],
    });
    raw.ws.send(JSON.stringify({ type: 'request', id: 9, name: 'x', data: 'plain' }));
    await until(() => raw.frames.length > 1);
    expect(JSON.parse(raw.frames[1] as string)).toEqual({
      type: 'response',
      id: 9,
      success: true,
      data: 'plain',
    });

    const client = await connectJuggler(url);
    expect(client.wire).toBe('0.6');
    expect(client.state).toEqual({ gen: 'old' });
    const big = 'y'.repeat(150_000);
    expect(await client.send('echo', big)).toBe(big);
  });

  it('a 0.7 server prefixes every frame; our client detects 0.7', async () => {
    const { url } = await startJuggler({ state: new JugglerState(null) }, (_c, _n, data) => data);
    const raw = await rawSocket(url);
    await until(() => raw.frames.length > 0);
    expect(raw.frames[0]).toBe('0{"type":"state","diff":[]}');
    raw.ws.send(`1${JSON.stringify({ type: 'request', id: 1, name: 'x', data: 'split' }).slice(0, 10)}`);
    raw.ws.send(`0${JSON.stringify({ type: 'request', id: 1, name: 'x', data: 'split' }).slice(10)}`);
    raw.ws.send('2abc');
    await until(() => raw.frames.length >= 3);
    expect(raw.frames.slice(1).sort()).toEqual([
      '0{"type":"response","id":1,"success":true,"data":"split"}',
      '3abc',
    ]);
    const client = await connectJuggler(url);
    expect(client.wire).toBe('0.7');
  });

  it('one server serves both: 0.7 on wsPath and 0.6 on legacyWsPath', async () => {
    const state = new JugglerState({ v: 1 });
    const { port } = await startJuggler({ state, legacyWsPath: '/ws06', autoflushDelay: 0 });
    const modern = await connectJuggler(`ws://127.0.0.1:${port}/ws`);
    const legacy = await connectJuggler(`ws://127.0.0.1:${port}/ws06`);
    expect([modern.wire, legacy.wire]).toEqual(['0.7', '0.6']);
    state.set(['v'], 2);
    await until(() => (modern.state as { v: number }).v === 2 && (legacy.state as { v: number }).v === 2);
  });

  it('a client forced to 0.6 or 0.7 speaks it from the start', async () => {
    const { port } = await startJuggler({ legacyWsPath: '/old' }, () => 'ok');
    const a = await connectJuggler(`ws://127.0.0.1:${port}/ws`, { wire: '0.7' });
    const b = await connectJuggler(`ws://127.0.0.1:${port}/old`, { wire: '0.6' });
    expect([await a.send('x', null), await b.send('x', null)]).toEqual(['ok', 'ok']);
  });

  it('the server pings an idle 0.7 peer and closes it when the ping goes unanswered', async () => {
    const { url, server } = await startJuggler({ pingDelay: 100, pingTimeout: 200 });
    const answering = await rawSocket(url);
    answering.ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('2')) answering.ws.send(`3${text.slice(1)}`);
    });
    const silent = await rawSocket(url);
    await until(() => silent.frames.includes('2'), 3000, 'a ping');
    expect(await silent.closed).toBe(1006);
    expect(answering.frames.filter((f) => f === '2').length).toBeGreaterThanOrEqual(1);
    expect(server.connections.size).toBe(1);
  });

  it('our client pings a silent server and answers its pings', async () => {
    const { url, server } = await startJuggler({ pingDelay: 80, pingTimeout: 1000 });
    const client = await connectJuggler(url, { pingDelay: 100, pingTimeout: 1000 });
    await new Promise((r) => setTimeout(r, 600));
    expect(client.isClosed).toBe(false);
    expect(server.connections.size).toBe(1);
  });

  it('segments never split a surrogate pair', () => {
    const text = `a${'😀'.repeat(10)}`;
    const segs = frames(text, '0.7', 4);
    expect(segs.map((s) => s.slice(1)).join('')).toBe(text);
    for (const s of segs) expect(s.slice(1)).toBe(Buffer.from(s.slice(1)).toString());
    expect(segs.at(-1)?.[0]).toBe('0');
    expect(segs.slice(0, -1).every((s) => s[0] === '1')).toBe(true);
  });
});
