import { describe, expect, it, vi } from 'vitest';
import { Client, type ConnectCode } from '../../src/index.js';
import { Watchdog, type WatchdogState } from '../../src/systemd/watchdog.js';
import { onCleanup, startServer } from '../helpers/net.js';
import { notifyReceiver } from '../helpers/notify-receiver.js';

function setEnv(values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) {
    const old = process.env[k];
    process.env[k] = v;
    onCleanup(() => {
      if (old === undefined) delete process.env[k];
      else process.env[k] = old;
    });
  }
}

function nextDecision(watchdog: Watchdog, decision: 'kick' | 'withheld'): Promise<WatchdogState> {
  return new Promise((resolve) => {
    const on = (state: WatchdogState): void => {
      if (state.decision !== decision) return;
      watchdog.off('decision', on);
      resolve(state);
    };
    watchdog.on('decision', on);
  });
}

describe('robot under the systemd watchdog', () => {
  it('kicks while the robot keeps its schedule and stops when a connect hangs past its timeouts', async () => {
    const rx = await notifyReceiver();
    onCleanup(() => rx.close());
    setEnv({ NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: '200000' });
    const { url } = await startServer();
    const client = new Client();
    onCleanup(() => client.close());
    const watchdog = new Watchdog();
    onCleanup(() => watchdog.stop());
    watchdog.addCheck('robot', () => client.robotHealth());
    watchdog.start();
    client.robot(url, { keepalive: 100, connTimeout: 100, reconnDelay: 10 });
    await nextDecision(watchdog, 'kick');
    await rx.waitFor('WATCHDOG=1');

    // From now on every connect attempt hangs: the robot is stuck "connecting".
    vi.spyOn(client, 'connect').mockImplementation(() => new Promise<ConnectCode>(() => {}));
    client.resetConnection();
    const withheld = await nextDecision(watchdog, 'withheld');
    expect(withheld.failedCheck).toBe('robot');
    expect(withheld.reason).toMatch(/stuck connecting/);
    const kicksBefore = watchdog.state().kicks;
    await nextDecision(watchdog, 'withheld');
    expect(watchdog.state().kicks).toBe(kicksBefore);
  });
});
