import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/*
 * A stand-in for systemd's notify socket: a real AF_UNIX datagram socket bound by a small
 * python3 program (Node cannot bind one), which prints "bound", then one JSON string per
 * datagram received. Datagrams from one sender arrive in the order sent, so a test can send
 * markers around a phase and check what arrived between them.
 */
const receiverSource = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
while True:
    print(json.dumps(s.recv(65536).decode('utf-8')), flush=True)
`;

export interface NotifyReceiver {
  /** The socket path, for NOTIFY_SOCKET. */
  path: string;
  /** Every datagram received so far, in order. */
  messages: string[];
  /**
   * The first datagram after the ones already consumed that matches `match` (consuming it
   * and those before it). Rejects after `timeoutMs` (a bound, not a synchronisation).
   */
  waitFor(match: string | RegExp | ((m: string) => boolean), timeoutMs?: number): Promise<string>;
  /** The messages consumed by waitFor so far end before this index. */
  cursor(): number;
  close(): void;
}

/** Binds a receiver in a fresh temporary directory and waits until it is bound. */
export async function notifyReceiver(): Promise<NotifyReceiver> {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-notify-'));
  const path = join(dir, 'notify.sock');
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', receiverSource, path]);
  const messages: string[] = [];
  let consumed = 0;
  let stderr = '';
  let exited: string | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.on('exit', (code) => {
    exited = `notify receiver exited (${code}): ${stderr}`;
    poke();
  });
  let bound = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!bound && line === 'bound') bound = true;
    else messages.push(JSON.parse(line) as string);
    poke();
  });
  const changed = (): Promise<void> => new Promise((resolve) => (wake = resolve));

  while (!bound) {
    if (exited !== null) throw new Error(exited);
    await changed();
  }

  return {
    path,
    messages,
    cursor: () => consumed,
    async waitFor(match, timeoutMs = 5000) {
      const test =
        typeof match === 'string'
          ? (m: string) => m === match
          : match instanceof RegExp
            ? (m: string) => match.test(m)
            : match;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        poke();
      }, timeoutMs);
      try {
        for (;;) {
          while (consumed < messages.length) {
            const m = messages[consumed++]!;
            if (test(m)) return m;
          }
          if (timedOut) throw new Error(`no datagram matching ${String(match)} within ${timeoutMs} ms`);
          if (exited !== null) throw new Error(exited);
          await changed();
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
