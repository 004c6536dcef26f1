/**
 * Captures the next datagram any `dgram` socket of this process sends, to send the same bytes
 * again from the same socket to the same peer. The quick-in probe uses it to drive every side's
 * server with one identical send loop (the raw floor's), so that received/s compares receivers
 * only. A side that sends without `dgram` is not captured (every side here uses it).
 */
import dgram from 'node:dgram';

export interface CapturedDatagram {
  bytes: Buffer;
  /** Sends the captured bytes again, as the raw floor's loop does: one prebuilt buffer. */
  resend(): void;
}

type SendArgs = [unknown, ...unknown[]];

function asBytes(msg: unknown): Buffer {
  const one = (m: unknown): Buffer =>
    typeof m === 'string'
      ? Buffer.from(m)
      : Buffer.from((m as Uint8Array).buffer, (m as Uint8Array).byteOffset, (m as Uint8Array).byteLength);
  return Array.isArray(msg) ? Buffer.concat(msg.map(one)) : Buffer.from(one(msg));
}

/** `send(msg, [offset, length,] [port, address])`: the bytes and the destination, if given. */
function parse(args: SendArgs): { bytes: Buffer; port?: number; address?: string } {
  const [msg, ...rest] = args;
  let bytes = asBytes(msg);
  if (typeof rest[0] === 'number' && typeof rest[1] === 'number' && !Array.isArray(msg)) {
    bytes = Buffer.from(bytes.subarray(rest[0], rest[0] + rest[1]));
    rest.splice(0, 2);
  }
  if (typeof rest[0] !== 'number') return { bytes }; // a connected socket
  return { bytes, port: rest[0], address: typeof rest[1] === 'string' ? rest[1] : undefined };
}

/** Runs `trigger` and resolves what it sent through `dgram`, or undefined if nothing was. */
export function captureDatagram(trigger: () => void): CapturedDatagram | undefined {
  const proto = dgram.Socket.prototype;
  const original = proto.send;
  let captured: CapturedDatagram | undefined;
  proto.send = function capture(this: dgram.Socket, ...args: SendArgs) {
    if (captured === undefined) {
      const { bytes, port, address } = parse(args);
      const send = original.bind(this) as (...a: unknown[]) => void;
      captured = {
        bytes,
        resend: port === undefined ? () => send(bytes) : () => send(bytes, port, address),
      };
    }
    return (original as (...a: unknown[]) => void).apply(this, args);
  } as typeof proto.send;
  try {
    trigger();
  } finally {
    proto.send = original;
  }
  return captured;
}
