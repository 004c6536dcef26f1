/*
 * A process under a (simulated) systemd watchdog, driven by watchdog.test.ts: it starts a
 * Watchdog from its environment, sends READY=1, then obeys one command a line on stdin:
 *   hog <ms>    busy-wait 150 ms at a time, letting timers run in between, for <ms>
 *   block <ms>  busy-wait <ms> in one piece
 *   exit        stop reading stdin (the process must then exit by itself)
 * Markers X-BEGIN=<cmd> and X-END=<cmd> are sent around each phase, and after X-END the state
 * of the next kick decision is printed as one JSON line on stdout.
 */
import { createInterface } from 'node:readline';
import { notify } from '../../src/systemd/notify.js';
import { Watchdog, type WatchdogState } from '../../src/systemd/watchdog.js';

const watchdog = new Watchdog();
watchdog.start();
watchdog.ready();

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: the event loop is blocked
  }
}

async function hog(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    busy(150);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const nextDecision = (): Promise<WatchdogState> =>
  new Promise((resolve) => watchdog.once('decision', resolve));

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'exit') {
    rl.close();
    return;
  }
  const ms = Number(arg);
  notify(`X-BEGIN=${cmd}`);
  if (cmd === 'hog') await hog(ms);
  else busy(ms);
  notify(`X-END=${cmd}`);
  process.stdout.write(`${JSON.stringify(await nextDecision())}\n`);
});
