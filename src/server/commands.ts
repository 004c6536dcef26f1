import type { ReceivedPayload, Request } from '../protocol/index.js';
import { assertUrl, routeCommand } from '../protocol/index.js';
import type { WorkQueue } from '../util/work-queue.js';
import type { RemoteClient } from './remote-client.js';

export type CommandHandler = (cli: RemoteClient, request: Request, payload: ReceivedPayload) => unknown;

interface Command {
  handler: CommandHandler;
  wq: WorkQueue | undefined;
}

/** What running a handler needs from the client's session. */
export interface Invocation {
  readonly cli: RemoteClient;
  /** seqnos whose handler is still running and has not replied. */
  readonly unanswered: Set<number>;
  /** A handler threw or rejected before replying. */
  handlerFailed(request: Request, error: unknown): void;
}

/** The RPC handlers by url; routing follows the url rules of protocol/url.ts. */
export class CommandTable {
  private readonly table = new Map<string, Command>();

  set(url: string, handler: CommandHandler, wq: WorkQueue | undefined): void {
    assertUrl(url);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    this.table.set(url, { handler, wq });
  }

  delete(url: string): boolean {
    return this.table.delete(url);
  }

  /** Runs the handler for `request.url` (on its work queue, if any); false when none serves it. */
  dispatch(session: Invocation, request: Request, payload: ReceivedPayload): boolean {
    const command = routeCommand(this.table, request.url);
    if (!command) return false;
    if (command.wq) command.wq.add(() => invoke(session, command.handler, request, payload));
    else invoke(session, command.handler, request, payload);
    return true;
  }
}

/** Runs a handler; one that throws (or rejects) before replying is reported to the session. */
function invoke(
  session: Invocation,
  handler: CommandHandler,
  request: Request,
  payload: ReceivedPayload,
): unknown {
  const { seqno } = request;
  session.unanswered.add(seqno);
  try {
    const result = handler(session.cli, request, payload);
    if (result instanceof Promise) {
      return result.then(
        () => session.unanswered.delete(seqno),
        (error: unknown) => session.handlerFailed(request, error),
      );
    }
    session.unanswered.delete(seqno);
  } catch (error) {
    session.handlerFailed(request, error);
  }
  return undefined;
}
