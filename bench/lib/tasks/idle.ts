/** Memory scenario: holds `clients` idle connections open until the orchestrator ends us. */
import type { ClientFactory, Json } from '../adapter.js';
import { report } from '../messages.js';
import { connectAll } from './connect.js';

export async function idleTask(factory: ClientFactory, task: Json): Promise<void> {
  const clients = await connectAll(factory, task.port as number, task.clients as number, 25);
  report('connected', { clients: clients.length });
  await new Promise<never>(() => {}); // until stdin closes or we are killed
}
