/** Connects many clients of one side, a bounded number at a time. */
import type { ClientAdapter, ClientFactory } from '../adapter.js';

export async function connectAll(
  factory: ClientFactory,
  port: number,
  count: number,
  parallel = 50,
): Promise<ClientAdapter[]> {
  const clients: ClientAdapter[] = [];
  for (let at = 0; at < count; at += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - at) }, () => factory());
    await Promise.all(batch.map((c) => c.connect(port)));
    clients.push(...batch);
  }
  return clients;
}
