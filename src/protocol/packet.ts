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
