/**
 * The raw floor's pub/sub wire, plain Node.js with no VSOA: what a hand-written TCP/UDP
 * publisher would do. Frames have VSOA's sizes: a 25-byte head (4-byte length, 1-byte kind,
 * 20 filler bytes, like VSOA's 20-byte header plus a 5-byte url) then the data, so a
 * 262,119-byte publish is 262,144 bytes on the wire, as in VSOA. Client to server: JSON lines.
 * A connection whose first byte is 'P' speaks this, 'M' the message echo; any other is the
 * length-prefixed echo (the identity: chunks written straight back).
 */
export const PUBSUB_MODE = 0x50; // 'P'
/**
 * A connection whose first byte is 'M' is the message echo, the RPC floor: each request is
 * read whole (one Buffer, as any RPC handler gets it) and then written back with a reply head.
 */
export const MESSAGE_ECHO_MODE = 0x4d; // 'M'
export const HEAD_BYTES = 25;
export const KIND_PUBLISH = 0;
export const KIND_REPLY = 1;
export const KIND_REQUEST = 2;

/** A frame head for `bodyBytes` of data (one allocation per frame, as a real publisher's). */
export function frameHead(kind: number, bodyBytes: number): Buffer {
  const head = Buffer.alloc(HEAD_BYTES);
  head.writeUInt32BE(HEAD_BYTES - 4 + bodyBytes, 0);
  head[4] = kind;
  return head;
}

/**
 * Splits a byte stream into messages, each delivered as one Buffer, as any message reader
 * must: a view when it lies in one chunk, else joined with one copy (what a VSOA client does
 * too). Replies are parsed as JSON.
 */
export class RawReader {
  private need = 0;
  private kind = -1;
  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headHave = 0;
  private body: Buffer[] = [];

  constructor(
    private readonly onPublish: (data: Buffer) => void,
    private readonly onReply: (body: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.kind < 0) {
        const take = Math.min(HEAD_BYTES - this.headHave, chunk.length - at);
        chunk.copy(this.head, this.headHave, at, at + take);
        this.headHave += take;
        at += take;
        if (this.headHave < HEAD_BYTES) return;
        this.headHave = 0;
        this.kind = this.head[4] as number;
        this.need = this.head.readUInt32BE(0) - (HEAD_BYTES - 4);
        if (this.need > 0) continue;
      } else {
        const take = Math.min(this.need, chunk.length - at);
        this.body.push(chunk.subarray(at, at + take));
        this.need -= take;
        at += take;
        if (this.need > 0) return;
      }
      this.complete();
    }
  }

  private complete(): void {
    const kind = this.kind;
    this.kind = -1;
    const body = this.body.length === 1 ? (this.body[0] as Buffer) : Buffer.concat(this.body);
    this.body = [];
    if (kind === KIND_REPLY) this.onReply(body);
    else this.onPublish(body);
  }
}
