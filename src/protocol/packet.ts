/** A decoded packet. `param` and `data` are views into received bytes, absent when empty. */
export interface Packet {
  type: number;
  /** The six flag bits (REPLY, TUNNEL, SET); the pad count is stripped. */
  flags: number;
  status: number;
  seqno: number;
  tunid: number;
  url: string;
  param: Buffer | undefined;
  data: Buffer | undefined;
}

/** The header fields an application sees in a reply (seed: vsoa.Header). */
export interface Header {
  type: number;
  flags: number;
  status: number;
  seqno: number;
  tunid: number;
}

/** An RPC request as a command handler sees it. `method`: Method.GET (0) or Method.SET (1). */
export interface Request {
  url: string;
  seqno: number;
  method: number;
}
