import { describe, expect, it } from 'vitest';
import { parseAddr, parsePort } from '../../src/position/config.js';
import { parsePosEnv, parsePosFile } from '../../src/position/index.js';

function collect(): { skipped: string[]; onSkip: (entry: string, reason: string) => void } {
  const skipped: string[] = [];
  return { skipped, onSkip: (entry) => skipped.push(entry) };
}

describe('VSOA_POS_SERVER parsing', () => {
  it('reads comma-separated addr:port entries, IPv6 in brackets, blanks around entries', () => {
    expect(parsePosEnv('127.0.0.1:3000, [::1]:3001 ,10.0.0.1:65535')).toEqual([
      { addr: '127.0.0.1', port: 3000 },
      { addr: '::1', port: 3001 },
      { addr: '10.0.0.1', port: 65535 },
    ]);
  });

  it('splits an unbracketed IPv6 entry at its last colon, as the node client does', () => {
    expect(parsePosEnv('fe80::1:3000')).toEqual([{ addr: 'fe80::1', port: 3000 }]);
  });

  it('skips bad entries and reports them, keeping the good ones', () => {
    const { skipped, onSkip } = collect();
    const servers = parsePosEnv(
      '127.0.0.1,host:3000,127.0.0.1:0,127.0.0.1:65536,127.0.0.1:x,[::1],[::1]3000,[1.2.3.4]:5,,1.2.3.4:5',
      onSkip,
    );
    expect(servers).toEqual([{ addr: '1.2.3.4', port: 5 }]);
    expect(skipped).toEqual([
      '127.0.0.1',
      'host:3000',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1:x',
      '[::1]',
      '[::1]3000',
      '[1.2.3.4]:5',
    ]);
  });

  it('is empty when the variable is unset or empty', () => {
    expect(parsePosEnv(undefined)).toEqual([]);
    expect(parsePosEnv('')).toEqual([]);
  });
});

describe('/etc/vsoa.pos parsing', () => {
  it('reads addr port lines; comments, blank lines and CRLF are handled', () => {
    const text = [
      '# position servers',
      '',
      '127.0.0.1 3000',
      '   ',
      '[::1]   3001   # local v6',
      '::1\t3002\r',
      '\t10.0.0.2 3003',
    ].join('\n');
    expect(parsePosFile(text)).toEqual([
      { addr: '127.0.0.1', port: 3000 },
      { addr: '::1', port: 3001 },
      { addr: '::1', port: 3002 },
      { addr: '10.0.0.2', port: 3003 },
    ]);
  });

  it('skips bad lines and reports them', () => {
    const { skipped, onSkip } = collect();
    const text = [
      '127.0.0.1:3000',
      'myhost 3000',
      '127.0.0.1 3000 extra',
      '127.0.0.1 0',
      '127.0.0.1 -1',
      '[::1 3000',
      '127.0.0.1 3005',
    ].join('\n');
    expect(parsePosFile(text, onSkip)).toEqual([{ addr: '127.0.0.1', port: 3005 }]);
    expect(skipped).toEqual([
      '127.0.0.1:3000',
      'myhost 3000',
      '127.0.0.1 3000 extra',
      '127.0.0.1 0',
      '127.0.0.1 -1',
      '[::1 3000',
    ]);
  });

  it('an empty file has no servers', () => {
    expect(parsePosFile('')).toEqual([]);
    expect(parsePosFile('# nothing\n\n')).toEqual([]);
  });
});

describe('address and port primitives', () => {
  it('parsePort accepts 1-65535 decimal only', () => {
    expect(['1', '65535', '03000'].map(parsePort)).toEqual([1, 65535, 3000]);
    expect(['0', '65536', '', '1e3', '0x10', ' 1', '123456'].map(parsePort)).toEqual(
      Array(7).fill(undefined),
    );
  });

  it('parseAddr accepts IP literals, IPv6 optionally bracketed', () => {
    expect(parseAddr('[::1]')).toBe('::1');
    expect(parseAddr('::1')).toBe('::1');
    expect(parseAddr('1.2.3.4')).toBe('1.2.3.4');
    expect(parseAddr('[1.2.3.4]')).toBeUndefined();
    expect(parseAddr('localhost')).toBeUndefined();
  });
});
