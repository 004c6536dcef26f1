/**
 * Quick datagrams from a client to the server (the direction of a robot's telemetry): for each
 * send rate (msgs/s, 0 = flat out), send for `durationMs`, let the receiver settle, then ask the
 * server how many it received. Gives received/s and loss as a function of the send rate. With
 * `replay`, one more flat-out case: the side's own datagram captured once, then resent by the
 * raw floor's loop (one prebuilt buffer, the same socket), so every server gets the same load.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientAdapter, Json } from '../adapter.js';
import { captureDatagram } from '../dgram-capture.js';
import { serverCpuUs } from '../server-cpu.js';

/** Five characters, so that 20 + 5 + 65,479 = 65,504 B: the largest 4-aligned quick packet. */
const URL = '/q-in';

function send(sendOne: () => boolean, rate: number, durationMs: number) {
  return new Promise<{ sent: number; failed: number; elapsedMs: number }>((resolve) => {
    const t0 = performance.now();
    let sent = 0;
    let failed = 0;
    const burst = rate > 0 ? 1 : 32;
    const pump = (): void => {
      const now = performance.now();
      if (now - t0 >= durationMs) {
        resolve({ sent, failed, elapsedMs: now - t0 });
        return;
      }
      let budget = burst;
      if (rate > 0) budget = Math.min(budget, Math.floor((rate * (now - t0)) / 1000) - sent);
      for (let i = 0; i < budget; i++) {
        if (sendOne()) sent++;
        else failed++;
      }
      setImmediate(pump);
    };
    pump();
  });
}

async function measure(
  client: ClientAdapter,
  sendOne: () => boolean,
  rate: number,
  task: Json,
): Promise<Json> {
  await sleep(100);
  await client.control('/ctl/quick-in', { reset: true }, 10_000);
  const cpu0 = await serverCpuUs(client);
  const run = await send(sendOne, rate, task.durationMs as number);
  await sleep(200); // datagrams still in the receive buffer count
  const cpu1 = await serverCpuUs(client);
  const { received } = await client.control('/ctl/quick-in', { reset: true }, 10_000);
  const got = received as number;
  return {
    size: task.size,
    rate,
    sent: run.sent,
    failed: run.failed,
    received: got,
    sendRate: (run.sent * 1000) / run.elapsedMs,
    receivedPerSec: (got * 1000) / run.elapsedMs,
    loss: run.sent > 0 ? Math.max(0, 1 - got / run.sent) : 0,
    // Server CPU (user + system, the kernel's copy included) per datagram it received.
    serverCpuUs: got > 0 ? (cpu1 - cpu0) / got : Number.NaN,
  };
}

export async function quickInTask(client: ClientAdapter, task: Json): Promise<Json> {
  await client.prepareQuick?.();
  const data = Buffer.alloc(task.size as number, 0x3c);
  const own = (): boolean => client.quickSend(URL, data);
  const cases: Json[] = [];
  await send(own, 0, task.warmupMs as number);
  for (const rate of task.rates as number[]) cases.push(await measure(client, own, rate, task));
  const captured = task.replay === true ? captureDatagram(own) : undefined;
  if (captured) {
    const resend = (): boolean => {
      captured.resend();
      return true;
    };
    cases.push({ ...(await measure(client, resend, 0, task)), replay: true });
  }
  return { cases };
}
