/*
 * The two wire generations of hat.juggler. 0.6 (seed 003): one JSON message per WebSocket text
 * frame. 0.7 (hat-juggler transport.py and the JS client): every text frame starts with one
 * character: '0' the last (or only) segment of a message, '1' more segments follow, '2' ping
 * (answered by '3' + the same payload), '3' pong. Messages are cut into segments of at most
 * max_segment_size characters (64 KiB by default).
 */

export type WireGeneration = '0.6' | '0.7';

export const DEFAULT_MAX_SEGMENT_SIZE = 64 * 1024;

/** The frames that carry one encoded message. */
export function frames(text: string, generation: WireGeneration, maxSegment: number): string[] {
  if (generation === '0.6') return [text];
  if (text.length <= maxSegment) return [`0${text}`];
  const out: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    let end = Math.min(pos + maxSegment, text.length);
    // Never split a surrogate pair: each frame must be valid UTF-16 to reach the wire intact.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff && end - 1 > pos) end--;
    out.push((end < text.length ? '1' : '0') + text.slice(pos, end));
    pos = end;
  }
  return out;
}

/** The frames of one message as UTF-8 bytes: encoded once, sent to many connections. */
export function encodedFrames(text: string, generation: WireGeneration, maxSegment: number): Buffer[] {
  return frames(text, generation, maxSegment).map((frame) => Buffer.from(frame));
}

/** The generation a peer speaks, from the first frame it sent; null when it is neither. */
export function detectGeneration(frame: string): WireGeneration | null {
  const c = frame.charAt(0);
  if (c === '0' || c === '1' || c === '2' || c === '3') return '0.7';
  if (frame.trimStart().startsWith('{')) return '0.6';
  return null;
}

export type Received =
  | { kind: 'message'; text: string }
  | { kind: 'partial' }
  | { kind: 'ping'; payload: string }
  | { kind: 'pong' };

export class WireError extends Error {
  override readonly name = 'WireError';
}

/** Reassembles 0.7 segments into messages, refusing messages longer than `maxChars`. */
export class Assembler {
  private parts: string[] = [];
  private length = 0;

  constructor(
    private readonly generation: WireGeneration,
    private readonly maxChars: number,
  ) {}

  push(frame: string): Received {
    if (this.generation === '0.6') {
      if (frame.length > this.maxChars)
        throw new WireError(`message of ${frame.length} characters is too long`);
      return { kind: 'message', text: frame };
    }
    const type = frame.charAt(0);
    const payload = frame.slice(1);
    if (type === '0' || type === '1') {
      this.length += payload.length;
      if (this.length > this.maxChars) throw new WireError(`message over ${this.maxChars} characters`);
      if (type === '1') {
        this.parts.push(payload);
        return { kind: 'partial' };
      }
      const text = this.parts.length === 0 ? payload : this.parts.join('') + payload;
      this.parts = [];
      this.length = 0;
      return { kind: 'message', text };
    }
    if (type === '2') return { kind: 'ping', payload };
    if (type === '3') return { kind: 'pong' };
    throw new WireError(`unknown segment type ${JSON.stringify(type)}`);
  }
}
