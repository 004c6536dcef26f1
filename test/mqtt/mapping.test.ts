import { describe, expect, it } from 'vitest';
import { Bridge, topicsFor, upPublish } from '../../src/mqtt/index.js';
import { checkPrefix, downPayload, downUrl, isAllowed } from '../../src/mqtt/mapping.js';

const m = (url: string, param?: string, data?: number[]) => ({
  url,
  param: param === undefined ? undefined : Buffer.from(param),
  data: data === undefined ? undefined : Buffer.from(data),
  quick: false,
  time: 0,
});

describe('the VSOA ↔ MQTT mapping', () => {
  it('up: <prefix><url>, JSON param or data bytes with vsoa-param', () => {
    expect(upPublish('vehicles/car-17', m('/sensors/temp', '{"c":1}'))).toEqual({
      topic: 'vehicles/car-17/sensors/temp',
      payload: Buffer.from('{"c":1}'),
      contentType: 'application/json',
    });
    expect(upPublish('v', m('/raw', '{"n":1}', [1, 2]))).toEqual({
      topic: 'v/raw',
      payload: Buffer.from([1, 2]),
      contentType: 'application/octet-stream',
      userProperties: { 'vsoa-param': '{"n":1}' },
    });
    expect(upPublish('v', m('/raw', undefined, [3]))?.userProperties).toBeUndefined();
    expect(upPublish('v', m('/nothing'))?.payload.toString()).toBe('null');
    expect(upPublish('v', m('/a/+/b', '1'))).toBeUndefined();
    expect(upPublish('v', m('/a/#', '1'))).toBeUndefined();
  });

  it('down: urls after $rpc / $dgram, allowed prefixes, payloads', () => {
    const t = topicsFor('vehicles/car-17');
    expect(t).toEqual({
      prefix: 'vehicles/car-17',
      rpc: 'vehicles/car-17/$rpc',
      dgram: 'vehicles/car-17/$dgram',
      status: 'vehicles/car-17/$status',
      stats: 'vehicles/car-17/$stats',
    });
    expect(downUrl('vehicles/car-17/$rpc/motor/speed', t.rpc)).toBe('/motor/speed');
    expect(downUrl('vehicles/car-17/$rpc', t.rpc)).toBeUndefined();
    expect(downUrl('vehicles/car-17/$rpcx/a', t.rpc)).toBeUndefined();
    expect(isAllowed('/motor/speed', ['/motor/'])).toBe(true);
    expect(isAllowed('/motorway', ['/motor/'])).toBe(false);
    expect(isAllowed('/x', [])).toBe(false);
    expect(downPayload(Buffer.from('{"a":1}'), undefined, undefined)).toEqual({
      ok: true,
      param: Buffer.from('{"a":1}'),
    });
    expect(downPayload(Buffer.alloc(0), 'application/json', undefined)).toEqual({ ok: true });
    expect(downPayload(Buffer.from('{'), undefined, undefined).ok).toBe(false);
    expect(downPayload(Buffer.from([1]), 'application/octet-stream', { 'vsoa-param': '2' })).toEqual({
      ok: true,
      data: Buffer.from([1]),
      param: Buffer.from('2'),
    });
    expect(downPayload(Buffer.from([1]), 'application/octet-stream', { 'vsoa-param': '{' }).ok).toBe(false);
  });

  it('prefixes and options are checked at construction, naming the argument', () => {
    expect(() => checkPrefix('vehicles/+')).toThrow(RangeError);
    expect(() => checkPrefix('v/')).toThrow(RangeError);
    expect(() => checkPrefix('$SYS/x')).toThrow(RangeError);
    expect(() => checkPrefix('')).toThrow(TypeError);
    const base = {
      vsoa: 'vsoa://127.0.0.1:1',
      broker: { url: 'mqtt://127.0.0.1:1' },
      prefix: 'v/1',
      subscribe: ['/a'],
    };
    expect(() => new Bridge(base)).not.toThrow();
    expect(() => new Bridge({ ...base, subscribe: [] })).toThrow(/options.subscribe/);
    expect(() => new Bridge({ ...base, subscribe: ['a'] })).toThrow(TypeError);
    expect(() => new Bridge({ ...base, broker: { url: 'http://x' } })).toThrow(/options.broker.url/);
    expect(() => new Bridge({ ...base, qos: 2 as 1 })).toThrow(/options.qos/);
    expect(() => new Bridge({ ...base, storeMax: 1000 })).toThrow(/options.storeMax/);
    expect(() => new Bridge({ ...base, offlineQuick: 'keep' as 'drop' })).toThrow(/offlineQuick/);
    expect(
      () => new Bridge({ ...base, broker: { url: 'mqtt://h:1', protocolVersion: 4 }, downRpc: ['/'] }),
    ).toThrow(/MQTT 5/);
    expect(() => new Bridge({ ...base, statsInterval: 2 ** 31 })).toThrow(RangeError);
  });
});
