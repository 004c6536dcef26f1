import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { type JsonValue, JugglerState } from '../../src/juggler/index.js';
import { until } from '../helpers/net.js';
import { connectJuggler, startJuggler } from './helpers.js';

// Fixed like the protocol property tests, so CI is deterministic; FC_SEED explores others.
const SEED = Number(process.env.FC_SEED ?? 0x4a55_4747);
const key = fc.constantFrom('a', 'b', 'c', 'x/y', 'til~de', '', '0');
const leaf = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const path = fc.array(fc.oneof(key, fc.integer({ min: 0, max: 3 })), { maxLength: 3 });
type Change =
  | { kind: 'set'; path: (string | number)[]; value: JsonValue }
  | { kind: 'remove'; path: (string | number)[] };
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), path, value: json }),
  fc.record({ kind: fc.constant('remove' as const), path }),
);

function apply(state: JugglerState, c: Change): void {
  if (c.kind === 'set') state.set(c.path, c.value);
  else state.remove(c.path);
}

function patched(doc: JsonValue, ops: unknown[]): JsonValue {
  return fastJsonPatch.applyPatch(structuredClone(doc), ops as Operation[], true, true)
    .newDocument as JsonValue;
}

describe('state diffs', () => {
  it('the patch since any version, applied by fast-json-patch, gives exactly the new state', () => {
    fc.assert(
      fc.property(json, fc.array(change, { maxLength: 8 }), (initial, changes) => {
        const state = new JugglerState(initial);
        // What a client holds came through JSON, where -0 is 0.
        const before = JSON.parse(JSON.stringify(state.data)) as JsonValue;
        const version = state.version;
        for (const c of changes) apply(state, c);
        const after = JSON.parse(JSON.stringify(state.data)) as JsonValue;
        // The state's patch from its log of changed paths, applied by fast-json-patch.
        expect(patched(before, JSON.parse(state.patchTextSince(version) ?? '[]'))).toEqual(after);
        // From nothing (a new connection): the whole state.
        expect(patched(null, JSON.parse(state.patchTextSince(-1) ?? '[]'))).toEqual(after);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('a client applying every diff it receives has exactly the server state (autoflush 0 and 200)', async () => {
    for (const autoflushDelay of [0, 200]) {
      const state = new JugglerState(null);
      const { url } = await startJuggler({ state, autoflushDelay });
      const client = await connectJuggler(url);
      const other = await connectJuggler(url);
      await fc.assert(
        fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 12 }), async (changes) => {
          for (const c of changes) apply(state, c);
          const expected = JSON.parse(JSON.stringify(state.data));
          await until(
            () => isDeepStrictEqual(client.state, expected) && isDeepStrictEqual(other.state, expected),
            5000,
            'client state equals server state',
          );
          expect(client.state).toEqual(expected);
        }),
        { seed: SEED + autoflushDelay, numRuns: autoflushDelay === 0 ? 60 : 8 },
      );
    }
  });

  it('a connection that joins late gets the whole state at once', async () => {
    const state = new JugglerState({ topics: {} });
    for (let i = 0; i < 100; i++) state.set(['topics', `/t${i}`], i);
    const { url } = await startJuggler({ state });
    const client = await connectJuggler(url);
    expect(client.state).toEqual(state.data);
  });
});
