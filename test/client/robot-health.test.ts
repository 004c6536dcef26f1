import { describe, expect, it, vi } from 'vitest';
import { Client } from '../../src/index.js';
import { Type } from '../../src/protocol/index.js';
import { onCleanup, until } from '../helpers/net.js';
import { rawVsoaServer, replyTo } from './helpers.js';

/*
 * Issue 16 item 6: a robot that is correctly detecting a dead server (lost pings, reconnect
 * attempts on its schedule) is healthy; only one that stopped following its schedule is not.
 */
describe('robot health while the server stops answering', () => {
  it('stays true through detection, failed reconnects and recovery, with app traffic', async () => {
    const raw = await rawVsoaServer((p, socket) => {
      if (p.type === Type.PINGECHO || p.type === Type.RPC) socket.write(replyTo(p));
    });
    const client = new Client();
    onCleanup(() => client.close());
    const keepalive = 500;
    client.robot(`vsoa://127.0.0.1:${raw.port}`, {
      keepalive,
      pingLost: 3,
      reconnDelay: 200,
      connTimeout: 800,
    });
    await until(() => client.robotStats()?.state === 'connected', 5000, 'the first connect');

    const unhealthy: string[] = [];
    const lostAt: number[] = [];
    client.on('robot-ping-lost', () => lostAt.push(Date.now()));
    const sampler = setInterval(() => {
      const health = client.robotHealth();
      if (health !== true) unhealthy.push(health);
    }, 20);
    // Normal application traffic: requests with their own (longer) timeouts, all the time.
    const traffic = setInterval(() => {
      if (client.connected) client.fetch('/work', { timeout: keepalive + 1 }).catch(() => {});
    }, 37);
    onCleanup(() => {
      clearInterval(sampler);
      clearInterval(traffic);
    });

    await new Promise((r) => setTimeout(r, 300));
    raw.freeze(); // as SIGSTOP: the kernel still accepts connections, nobody answers
    await until(() => client.robotStats()?.disconnects === 1, 10_000, 'the robot to detect the dead server');
    await until(() => (client.robotStats()?.attempts ?? 0) >= 3, 10_000, 'two failed reconnect attempts');
    raw.thaw();
    await until(() => client.robotStats()?.connects === 2, 10_000, 'the reconnect');
    clearInterval(sampler);

    expect(unhealthy).toEqual([]);
    // Lost pings come on the robot's schedule, keepalive apart (never a skipped tick).
    const gaps = lostAt.slice(1, 4).map((t, i) => t - (lostAt[i] as number));
    for (const gap of gaps) expect(gap).toBeLessThan(keepalive * 1.7); // a skipped tick makes it 2 × keepalive
    expect(client.robotHealth()).toBe(true);
  }, 30_000);

  it('is false once the robot stops following its schedule (a connect that never ends)', async () => {
    const client = new Client({ resolve: () => new Promise(() => {}) });
    onCleanup(() => client.close());
    client.robot('vsoa://nowhere/', { connTimeout: 50 });
    expect(client.robotHealth()).toBe(true);
    await until(() => client.robotHealth() !== true, 5000, 'the robot to count as stuck');
    expect(client.robotHealth()).toMatch(/stuck connecting/);
  });

  it('stays true when the wall clock steps by years (an RTC-less board at its first NTP sync)', async () => {
    const raw = await rawVsoaServer((p, socket) => {
      if (p.type === Type.PINGECHO) socket.write(replyTo(p));
    });
    const client = new Client();
    onCleanup(() => client.close());
    client.robot(`vsoa://127.0.0.1:${raw.port}`, { keepalive: 500 });
    await until(() => client.robotStats()?.state === 'connected', 5000, 'the first connect');
    const stepped = Date.now() + 10 * 365 * 24 * 3600 * 1000;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(stepped);
    try {
      expect(client.robotHealth()).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });
});
