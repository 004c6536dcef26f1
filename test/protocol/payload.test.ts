/** Payloads: what an application's param becomes on the wire, and what a received one becomes. */
import { describe, expect, it } from 'vitest';
import { checkPayload, fromWireParam, receivedPayload, toWireParam } from '../../src/protocol/index.js';

describe('toWireParam', () => {
  it.each([
    [{ a: 1, b: [true, null] }, '{"a":1,"b":[true,null]}'],
    [{}, '{}'],
    [[1, 'x'], '[1,"x"]'],
    [[], '[]'],
    ['hello', '"hello"'],
    ['', '""'],
    ['hé中', '"hé中"'],
    [0, '0'],
    [-1.5, '-1.5'],
    [true, 'true'],
    [false, 'false'],
    [{ s: 'hé中' }, '{"s":"hé中"}'],
  ])('%j is sent as JSON text %s', (param, json) => {
    expect(toWireParam(param)).toBe(json);
  });

  it('other binary forms (ArrayBuffer, typed arrays, DataView) go as their bytes, not as JSON', () => {
    const ab = new Uint8Array([1, 2, 3]).buffer;
    expect(Buffer.from(toWireParam(ab) as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    const u16 = new Uint16Array([0x0102]);
    expect((toWireParam(u16) as Uint8Array).byteLength).toBe(2);
    const view = new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2);
    expect(Buffer.from(toWireParam(view) as Uint8Array)).toEqual(Buffer.from([8, 7]));
    expect(toWireParam(new ArrayBuffer(0))).toBeUndefined();
  });

  it('null and undefined mean no param', () => {
    expect(toWireParam(null)).toBeUndefined();
    expect(toWireParam(undefined)).toBeUndefined();
  });

  it('bytes pass raw, the very same object; empty bytes mean no param', () => {
    const buf = Buffer.from('not json{');
    expect(toWireParam(buf)).toBe(buf);
    const u8 = new Uint8Array([1, 2, 3]);
    expect(toWireParam(u8)).toBe(u8);
    expect(toWireParam(Buffer.alloc(0))).toBeUndefined();
    expect(toWireParam(new Uint8Array(0))).toBeUndefined();
  });

  it.each([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a bigint', 10n],
    [
      'a circular object',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
  ])('%s is a TypeError naming the argument', (_, param) => {
    expect(() => toWireParam(param)).toThrow(TypeError);
    expect(() => toWireParam(param)).toThrow(/payload\.param/);
  });
});

describe('checkPayload', () => {
  it('an absent payload is empty', () => {
    expect(checkPayload(undefined)).toEqual({ param: undefined, data: undefined });
    expect(checkPayload(null)).toEqual({ param: undefined, data: undefined });
    expect(checkPayload({})).toEqual({ param: undefined, data: undefined });
  });

  it('param becomes wire form and data passes as the same bytes', () => {
    const data = Buffer.from([0, 1, 2]);
    const r = checkPayload({ param: { x: 1 }, data });
    expect(r.param).toBe('{"x":1}');
    expect(r.data).toBe(data);
    const u8 = new Uint8Array([9]);
    expect(checkPayload({ data: u8 }).data).toBe(u8);
    const raw = Buffer.from([0xff]);
    expect(checkPayload({ param: raw }).param).toBe(raw);
  });

  it('null or empty data is no data', () => {
    expect(checkPayload({ param: 'x', data: null })).toEqual({ param: '"x"', data: undefined });
    expect(checkPayload({ data: Buffer.alloc(0) }).data).toBeUndefined();
  });

  it.each([
    ['a string', 'text'],
    ['a number', 5],
    ['a boolean', true],
  ])('%s as payload is a TypeError naming the argument', (_, payload) => {
    expect(() => checkPayload(payload)).toThrow(TypeError);
    expect(() => checkPayload(payload)).toThrow(/^payload /);
    expect(() => checkPayload(payload, 'reply')).toThrow(/^reply /);
  });

  it.each([
    ['a string', 'bytes'],
    ['an array', [1, 2]],
    ['a number', 3],
    ['an ArrayBuffer', new ArrayBuffer(2)],
  ])('%s as data is a TypeError naming the argument', (_, data) => {
    expect(() => checkPayload({ data })).toThrow(TypeError);
    expect(() => checkPayload({ data })).toThrow(/^payload\.data /);
    expect(() => checkPayload({ data }, 'reply')).toThrow(/^reply\.data /);
  });

  it('a param that is not JSON-able is a TypeError naming the argument', () => {
    expect(() => checkPayload({ param: () => 0 })).toThrow(TypeError);
    expect(() => checkPayload({ param: () => 0 }, 'reply')).toThrow(/^reply\.param /);
    expect(() => checkPayload({ param: 1n }, 'reply')).toThrow(/^reply\.param /);
  });
});

describe('fromWireParam', () => {
  const b = (s: string) => Buffer.from(s);

  it.each([
    ['{"a":[1,2]}', { a: [1, 2] }],
    ['{ "a" : [1, 2] }', { a: [1, 2] }],
    ['[]', []],
    ['"hello"', 'hello'],
    ['"h\\u00e9\\u4e2d"', 'hé中'],
    ['42', 42],
    ['true', true],
    ['null', null],
  ])('%s is parsed as JSON', (text, value) => {
    expect(fromWireParam(b(text), false)).toEqual(value);
  });

  it('absent stays absent', () => {
    expect(fromWireParam(undefined, false)).toBeUndefined();
    expect(fromWireParam(undefined, true)).toBeUndefined();
  });

  it.each(['not json{', '{"a":', 'hello', '{a:1}', ' '])(
    'invalid JSON %j is handed over as the bytes',
    (text) => {
      const bytes = b(text);
      expect(fromWireParam(bytes, false)).toBe(bytes);
    },
  );

  it('bytes that are not UTF-8 are handed over as bytes, even when shaped like JSON', () => {
    const latin1 = Buffer.from([0x22, 0xe9, 0x22]); // "é" in Latin-1
    expect(fromWireParam(latin1, false)).toBe(latin1);
    const binary = Buffer.from([0xff, 0x00, 0x01]);
    expect(fromWireParam(binary, false)).toBe(binary);
  });

  it('raw mode hands over the bytes unparsed', () => {
    const bytes = b('{"a":1}');
    expect(fromWireParam(bytes, true)).toBe(bytes);
  });
});

describe('receivedPayload', () => {
  it('leaves empty fields absent', () => {
    const p = receivedPayload(undefined, undefined, false);
    expect(p).toEqual({});
    expect('param' in p).toBe(false);
    expect('data' in p).toBe(false);
  });

  it('parses the param and passes data as the same Buffer', () => {
    const data = Buffer.from([1, 2, 3]);
    const p = receivedPayload(Buffer.from('{"x":"y"}'), data, false);
    expect(p.param).toEqual({ x: 'y' });
    expect(p.data).toBe(data);
    expect(receivedPayload(undefined, data, false)).toEqual({ data });
  });

  it('keeps invalid JSON, and everything in raw mode, as bytes', () => {
    const bad = Buffer.from('not json{');
    expect(receivedPayload(bad, undefined, false).param).toBe(bad);
    const good = Buffer.from('{"x":1}');
    expect(receivedPayload(good, undefined, true)).toEqual({ param: good });
    expect(receivedPayload(good, undefined, true).param).toBe(good);
  });

  it('round-trips what toWireParam sends', () => {
    for (const value of [{ a: 1 }, [1, [2]], 'text', 3.5, false, { s: 'hé中' }]) {
      const wire = toWireParam(value) as string;
      expect(receivedPayload(Buffer.from(wire), undefined, false).param).toEqual(value);
    }
  });
});
