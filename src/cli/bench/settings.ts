/** What one `vsoa bench` run measures (the report restates it, the scenarios follow it). */

export type Scenario = 'rpc' | 'quick' | 'all';

export interface BenchSettings {
  scenario: Scenario;
  /** Sizes for RPC; quick uses those of them that fit a quick datagram. */
  sizes: number[];
  quickSizes: number[];
  /** Exactly one of duration and count is set. */
  durationS: number | null;
  count: number | null;
  inflight: number;
  /** Quick datagrams per second; null searches for the highest with < 1% loss. */
  rate: number | null;
}
