import { describe, expect, it } from 'vitest';
import { outputPath } from '../../src/record/output-path.js';
import { inferSchema, publishTimeOf } from '../../src/record/schema.js';
import { parseDuration, parseSize } from '../../src/record/units.js';

describe('record: sizes, durations, file names, schemas', () => {
  it('parses sizes with binary units and refuses the rest', () => {
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    for (const bad of ['', 'lots', '-1M', '5X', '1 2']) expect(() => parseSize(bad)).toThrow(RangeError);
  });

  it('parses durations (a bare number is seconds) and refuses the rest', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1.5')).toBe(1500);
    for (const bad of ['', 'soon', '10x', '1h 2m', 'm']) expect(() => parseDuration(bad)).toThrow(RangeError);
  });

  it('names split files: _NNNN before the extension, or {n} and {time} where given', () => {
    const at = new Date('2026-12-06T20:36:00.123Z');
    expect(outputPath('/d/drive.mcap', 0, false, at)).toBe('/d/drive.mcap');
    expect(outputPath('/d/drive.mcap', 3, true, at)).toBe('/d/drive_0003.mcap');
    expect(outputPath('/d/run-{n}.mcap', 12, true, at)).toBe('/d/run-0012.mcap');
    expect(outputPath('drive-{time}.mcap', 0, false, at)).toBe('drive-20261206T203600Z.mcap');
    expect(outputPath('drive-{time}.mcap', 1, true, at)).toBe('drive-20261206T203600Z_0001.mcap');
  });

  it('guesses a bounded JSON schema with numbers plottable', () => {
    expect(inferSchema({ v: 1, s: 'x', ok: true, list: [1.5], deep: { n: null } }, '/t')).toEqual({
      title: '/t',
      type: 'object',
      properties: {
        v: { type: 'number' },
        s: { type: 'string' },
        ok: { type: 'boolean' },
        list: { type: 'array', items: { type: 'number' } },
        deep: { type: 'object', properties: { n: { type: 'null' } } },
      },
    });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { deep };
    expect(JSON.stringify(inferSchema(deep)).length).toBeLessThan(1000);
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys((inferSchema(wide).properties as object) ?? {}).length).toBeLessThanOrEqual(512);
  });

  it('takes a publish time from a plausible date only', () => {
    expect(publishTimeOf({ timestamp: 1_700_000_000_000 }, 'timestamp')).toBe(1_700_000_000_000_000_000n);
    expect(publishTimeOf({ timestamp: '2026-01-01T00:00:00Z' }, 'timestamp')).toBe(
      BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n,
    );
    expect(publishTimeOf({ timestamp: 42 }, 'timestamp')).toBeUndefined();
    expect(publishTimeOf({ timestamp: 1_700_000_000_000 }, '')).toBeUndefined();
    expect(publishTimeOf([1], 'timestamp')).toBeUndefined();
    expect(publishTimeOf({ time: 1_700_000_000_000 }, 'time')).toBe(1_700_000_000_000_000_000n);
  });
});
