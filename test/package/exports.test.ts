import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { ConnectCode, connectCodeName, EventEmitter, Status, statusName } from '../../src/index.js';

describe('the public API', () => {
  it('exports the names the issue asks for', () => {
    for (const name of [
      'setLogger',
      'lookupOutcome',
      'statusName',
      'connectCodeName',
      'nativeStatus',
      'EventEmitter',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('names every Status and ConnectCode, and unknown ones recognisably', () => {
    for (const [name, n] of Object.entries(Status)) expect(statusName(n)).toBe(name);
    for (const [name, n] of Object.entries(ConnectCode)) expect(connectCodeName(n)).toBe(name);
    expect(statusName(3)).toBe('INVALID_URL');
    expect(statusName(99)).toBe('STATUS_99');
    expect(connectCodeName(42)).toBe('CODE_42');
  });
});

describe("the seed's EventEmitter", () => {
  it('raises new_listener / remove_listener with (event, listener)', () => {
    const e = new EventEmitter();
    const seen: unknown[] = [];
    e.on('new_listener', (event: unknown) => seen.push(['new', event]));
    e.on('remove_listener', (event: unknown) => seen.push(['remove', event]));
    const f = (): void => {};
    e.add_listerner('test', f);
    e.add_listener('test', f);
    expect(e.listener_count('test')).toBe(2);
    e.removeListener('test', f);
    expect(seen).toEqual([
      ['new', 'test'],
      ['new', 'test'],
      ['remove', 'test'],
    ]);
    expect(() => e.emit('new_listener', 'x', f)).toThrow(TypeError);
  });

  it('remove_listener(event) without a listener removes all and returns whether any was there', () => {
    const e = new EventEmitter();
    e.on('a', () => {});
    e.on('a', () => {});
    const other = (): void => {};
    expect(e.remove_listener('a', other)).toBe(false);
    expect(e.remove_listener('a')).toBe(true);
    expect(e.listener_count('a')).toBe(0);
    expect(e.remove_listener('a')).toBe(false);
  });

  it('takes objects as events by identity, and numbers apart from strings', () => {
    const e = new EventEmitter();
    const one = {};
    const two = {};
    const got: string[] = [];
    e.on(one, (x: string) => got.push(`one ${x}`));
    e.on(two, (x: string) => got.push(`two ${x}`));
    e.on(1, () => got.push('number 1'));
    e.on('1', () => got.push('string 1'));
    expect(e.emit(one, 'a')).toBe(true);
    e.emit(1);
    expect(e.emit({}, 'nobody')).toBe(false);
    expect(got).toEqual(['one a', 'number 1']);
    e.once(two, () => got.push('once'));
    e.emit(two, 'b');
    e.emit(two, 'c');
    expect(got.slice(2)).toEqual(['two b', 'once', 'two c']);
    e.remove_all_listeners();
    expect(e.listener_count(one)).toBe(0);
  });

  it('is a Node EventEmitter, so the seed style of subclassing works', () => {
    class MyClass extends EventEmitter {
      got: unknown[] = [];
      constructor() {
        super();
        this.on('test', (a: unknown, b: unknown) => this.got.push(a, b));
      }
    }
    const m = new MyClass();
    m.emit('test', 1, 2);
    expect(m.got).toEqual([1, 2]);
  });
});
