import { afterEach, describe, expect, it } from 'vitest';
import type { AskResult } from '../../src/position/ask.js';
import type { PosServer } from '../../src/position/config.js';
import {
  type LookupOptions,
  type LookupSource,
  lookupOutcome,
  Position,
  pos,
} from '../../src/position/index.js';
import { closedPort, fakeServer, NO_FILE, onCleanup, runCleanups, tempPosFile } from './helpers.js';

afterEach(async () => {
  pos(null);
  await runCleanups();
});

function opts(extra: LookupOptions = {}): LookupOptions {
  return { env: {}, file: NO_FILE, timeout: 100, retries: 0, cache: false, ...extra };
}

async function position(): Promise<number> {
  const p = new Position(null, { table: [{ name: 'svc', addr: '127.0.0.1', port: 3005 }] });
  await p.listen(0, '127.0.0.1');
  onCleanup(() => p.close());
  return p.address()?.port as number;
}

describe('lookupOutcome tells why a name was not found', () => {
  it('found / not-found / no-server / no-answer', async () => {
    const port = await position();
    const env = { VSOA_POS_SERVER: `127.0.0.1:${port}` };
    expect(await lookupOutcome('svc', -1, opts({ env }))).toMatchObject({
      kind: 'found',
      result: { addr: '127.0.0.1', port: 3005 },
      server: { addr: '127.0.0.1', port },
    });
    expect(await lookupOutcome('other', -1, opts({ env }))).toMatchObject({
      kind: 'not-found',
      result: null,
    });
    expect(await lookupOutcome('svc', -1, opts())).toMatchObject({ kind: 'no-server', asked: 0 });
    const silent = await fakeServer(() => {});
    const dead = await closedPort();
    const both = { VSOA_POS_SERVER: `127.0.0.1:${silent.port},127.0.0.1:${dead}` };
    expect(await lookupOutcome('svc', -1, opts({ env: both }))).toMatchObject({
      kind: 'no-answer',
      answered: false,
      asked: 2,
    });
  });
});

describe('lookup observer', () => {
  it("sees every server asked, in the lookup's own order, with where each came from", async () => {
    const port = await position();
    const silent = await fakeServer(() => {});
    const dead = await closedPort();
    const file = tempPosFile(`127.0.0.1 ${dead}\nnot-an-address 1\n127.0.0.1 ${port}\n`);
    const steps: string[] = [];
    const notes: string[] = [];
    const server: PosServer = { addr: '127.0.0.1', port: silent.port };
    const outcome = await lookupOutcome(
      'svc',
      -1,
      opts({
        server,
        file,
        env: { VSOA_POS_SERVER: `127.0.0.1:${silent.port},bogus` },
        observer: {
          asked: (s: PosServer, source: LookupSource, r: AskResult) =>
            steps.push(`${source} ${s.port} ${r.kind}`),
          note: (text) => notes.push(text),
        },
      }),
    );
    expect(outcome.kind).toBe('found');
    // The env entry repeating --server is asked once only.
    expect(steps).toEqual([`server ${silent.port} silent`, `file ${dead} refused`, `file ${port} hit`]);
    expect(notes.join('\n')).toMatch(/VSOA_POS_SERVER entry 'bogus' skipped/);
    expect(notes.join('\n')).toMatch(/line 'not-an-address 1' skipped/);
  });

  it('notes an unreadable file; options.server replaces pos()', async () => {
    const port = await position();
    pos('127.0.0.1', await closedPort());
    const notes: string[] = [];
    const sources: string[] = [];
    const outcome = await lookupOutcome(
      'svc',
      -1,
      opts({
        server: { addr: '127.0.0.1', port },
        observer: { asked: (_s, source) => sources.push(source), note: (t) => notes.push(t) },
      }),
    );
    expect(outcome.kind).toBe('found');
    expect(sources).toEqual(['server']);
    const none = await lookupOutcome('svc', -1, opts({ observer: { note: (t) => notes.push(t) } }));
    expect(none.kind).toBe('no-answer'); // pos() was asked and refused
    expect(notes.join('\n')).toMatch(/not read \(ENOENT\)/);
    await expect(lookupOutcome('svc', -1, opts({ server: { addr: 'host', port: 1 } }))).rejects.toThrow(
      TypeError,
    );
    await expect(lookupOutcome('svc', -1, opts({ timeout: 3e9 }))).rejects.toThrow(RangeError);
  });
});
