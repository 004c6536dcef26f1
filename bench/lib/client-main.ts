/**
 * Body of every client child: runs the task named in argv[2] (JSON) with the side's
 * client adapter and reports `result`, or `error` if it failed.
 */
import type { ClientAdapter, ClientFactory, Json } from './adapter.js';
import { fail, onCommands, report, taskArgument } from './messages.js';
import { idleTask } from './tasks/idle.js';
import { publishTask } from './tasks/publish.js';
import { quickCountTask, quickTask } from './tasks/quick.js';
import { quickInTask } from './tasks/quick-in.js';
import { echoTask, pipelineTask } from './tasks/rpc.js';

async function single(
  factory: ClientFactory,
  task: Json,
  body: (c: ClientAdapter, t: Json) => Promise<Json>,
): Promise<Json> {
  const client = factory();
  await client.connect(task.port as number);
  const result = await body(client, task);
  client.close();
  return result;
}

async function dispatch(factory: ClientFactory, task: Json): Promise<Json | undefined> {
  switch (task.task) {
    case 'echo':
      return single(factory, task, echoTask);
    case 'pipeline':
      return single(factory, task, pipelineTask);
    case 'publish':
      return publishTask(factory, task);
    case 'quick':
      return quickTask(factory, task);
    case 'quick-in':
      return single(factory, task, quickInTask);
    case 'quick-count':
      return quickCountTask(factory, task);
    case 'idle':
      await idleTask(factory, task);
      return undefined;
    default:
      throw new Error(`unknown task ${String(task.task)}`);
  }
}

export function runClient(factory: ClientFactory): void {
  onCommands(() => {}); // only so that a closed stdin ends this child
  dispatch(factory, taskArgument()).then((result) => {
    report('result', result ?? {});
    process.exit(0);
  }, fail);
}
