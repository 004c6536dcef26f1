/**
 * The captured position datagrams (shared/vectors/position.json): our query encoder writes
 * the node client's bytes, our parsers read both implementations' datagrams, and our server
 * answers every captured query as the official servers did (same record; we add security).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Position } from '../../src/position/index.js';
import { encodeQuery, parseAnswer, parseQuery } from '../../src/position/wire.js';
import { ask, onCleanup, runCleanups } from './helpers.js';

interface Vector {
  name: string;
  producer: string;
  direction: 'c2s' | 's2c';
  hex: string;
  step: string;
}

// CI clones the repo with shared/ beside it, so the vectors are at ../shared/vectors from the root.
const file = new URL('../../../shared/vectors/position.json', import.meta.url);
const vectors = (JSON.parse(readFileSync(file, 'utf8')) as { vectors: Vector[] }).vectors;
const queries = vectors.filter((v) => v.direction === 'c2s');
const answers = vectors.filter((v) => v.direction === 's2c');

afterEach(runCleanups);

describe('position vectors', () => {
  it('has captures of both directions', () => {
    expect(queries.length).toBeGreaterThan(10);
    expect(answers.length).toBeGreaterThan(10);
  });

  it('encodes queries byte for byte like the node client', () => {
    for (const v of queries.filter((q) => q.producer.startsWith('node'))) {
      const q = parseQuery(Buffer.from(v.hex, 'hex'));
      if (typeof q === 'string') throw new Error(`${v.name}: ${q}`);
      expect(encodeQuery(q.name, q.domain as -1 | 2 | 10).toString('hex'), v.name).toBe(v.hex);
    }
  });

  it('parses every captured query and answer', () => {
    for (const v of queries) expect(typeof parseQuery(Buffer.from(v.hex, 'hex')), v.name).toBe('object');
    for (const v of answers) {
      const a = parseAnswer(Buffer.from(v.hex, 'hex'), -1);
      expect(a.kind, v.name).toBe(v.step === 'lookup-miss' ? 'miss' : 'hit');
    }
  });

  it('our server answers each captured query with the captured record', async () => {
    const p = new Position(
      (q, reply) => reply(q.name === 'dynamic' ? { domain: 2, addr: '127.0.0.1', port: 3006 } : null),
      {
        table: [{ name: 'vsoaserver', domain: 2, addr: '127.0.0.1', port: 3005 }],
      },
    );
    await p.listen(0, '127.0.0.1');
    onCleanup(() => p.close());
    const port = p.address()!.port;
    for (let i = 0; i < vectors.length - 1; i++) {
      const [q, a] = [vectors[i]!, vectors[i + 1]!];
      if (q.direction !== 'c2s' || a.direction !== 's2c') continue;
      const ours = JSON.parse(await ask(port, Buffer.from(q.hex, 'hex'))) as Record<string, unknown>;
      const theirs = JSON.parse(Buffer.from(a.hex, 'hex').toString('utf8')) as Record<string, unknown>;
      if (Object.keys(theirs).length === 0) expect(ours, q.name).toEqual({});
      else expect(ours, q.name).toMatchObject(theirs);
    }
  });
});
