import type { ClientAdapter } from './adapter.js';

/**
 * The server child's CPU time so far (user + system, µs) through its /ctl/cpu control RPC, to
 * charge a measured phase with server CPU; NaN where the side has none (the raw echo floor).
 */
export async function serverCpuUs(client: ClientAdapter): Promise<number> {
  try {
    const usage = await client.control('/ctl/cpu', {}, 10_000);
    return (usage.user as number) + (usage.system as number);
  } catch {
    return Number.NaN;
  }
}
