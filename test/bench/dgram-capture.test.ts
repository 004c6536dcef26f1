import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { captureDatagram } from '../../bench/lib/dgram-capture.js';

/** The quick-in probe's "one sender" case resends each side's captured datagram. */
const sockets: dgram.Socket[] = [];

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function receive(s: dgram.Socket, n: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) =>
    s.on('message', (msg) => {
      got.push(msg.toString());
      if (got.length === n) resolve(got);
    }),
  );
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

describe('captureDatagram (bench)', () => {
  it('captures a list sent to a port and address, and resends the same bytes', async () => {
    const [rx, tx] = [await socket(), await socket()];
    const got = receive(rx, 2);
    const port = rx.address().port;
    const captured = captureDatagram(() =>
      tx.send([Buffer.from('head|'), Buffer.from('data')], port, '127.0.0.1'),
    );
    expect(captured?.bytes.toString()).toBe('head|data');
    captured?.resend();
    expect(await got).toEqual(['head|data', 'head|data']);
  });

  it('captures offset and length on a connected socket (the official client), and only the first send', async () => {
    const [rx, tx] = [await socket(), await socket()];
    await new Promise<void>((resolve) => tx.connect(rx.address().port, '127.0.0.1', resolve));
    const got = receive(rx, 3);
    const buf = Buffer.from('xxpacketyy');
    const captured = captureDatagram(() => {
      tx.send(buf, 2, 6);
      tx.send(Buffer.from('second'));
    });
    expect(captured?.bytes.toString()).toBe('packet');
    buf.fill(0); // the capture holds its own copy
    captured?.resend();
    expect((await got).sort()).toEqual(['packet', 'packet', 'second']);
    expect(dgram.Socket.prototype.send.name).not.toBe('capture'); // restored
  });

  it('captures nothing when the trigger sends nothing', () => {
    expect(captureDatagram(() => {})).toBeUndefined();
  });
});
