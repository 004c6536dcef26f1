import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '../helpers/net.js';

/*
 * A real Mosquitto (Debian's /usr/sbin/mosquitto) per test: a generated config in a temp
 * directory, ports from the OS, killed with SIGKILL and restarted on the same ports to make
 * outages. Optional: a TLS listener, a password file and an ACL.
 */

export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface BrokerTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Ask clients for a certificate signed by caCert. */
  requireCertificate?: boolean;
}

export interface BrokerOptions {
  tls?: BrokerTls;
  /** username → password; anonymous clients are refused when given. */
  users?: Record<string, string>;
  /** ACL file text (with users). */
  acl?: string;
  /**
   * Keep sessions across restarts: save() writes them to disk (SIGUSR1) before a kill, so a
   * subscriber's persistent session survives the outage (and queues what arrives meanwhile).
   */
  persistence?: boolean;
}

export interface Broker {
  port: number;
  url: string;
  tlsPort: number | undefined;
  tlsUrl: string | undefined;
  dir: string;
  /** Whether the broker process is running. */
  readonly running: boolean;
  /** Kills the broker (SIGKILL: no goodbye to clients, as a lost uplink). */
  kill(): Promise<void>;
  /** Starts it again on the same ports. */
  restart(): Promise<void>;
  /** What the broker logged (stderr). */
  log(): string;
  /** Writes the sessions to disk now (with `persistence`). */
  save(): Promise<void>;
}

/** A port that was free a moment ago (bind 0, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, tlsPort: number | undefined, options: BrokerOptions): string {
  // As root mosquitto would switch to the user `mosquitto`, who cannot read our temp files.
  const lines = [`user ${userInfo().username}`, 'log_dest stderr', 'log_type error', 'log_type warning'];
  lines.push('log_type notice', 'log_type information', 'log_type subscribe');
  if (options.persistence) {
    lines.push(
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 0',
      'max_queued_messages 0',
    );
  } else {
    lines.push('persistence false');
  }
  lines.push('per_listener_settings false');
  if (options.users) {
    const file = join(dir, 'passwd');
    writeFileSync(file, '');
    for (const [user, password] of Object.entries(options.users)) {
      execFileSync('mosquitto_passwd', ['-b', file, user, password], { stdio: 'ignore' });
    }
    lines.push('allow_anonymous false', `password_file ${file}`);
    if (options.acl) {
      writeFileSync(join(dir, 'acl'), options.acl);
      lines.push(`acl_file ${join(dir, 'acl')}`);
    }
  } else {
    lines.push('allow_anonymous true');
  }
  lines.push(`listener ${port} 127.0.0.1`);
  if (options.tls && tlsPort !== undefined) {
    lines.push(
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${options.tls.caCert}`,
      `certfile ${options.tls.serverCert}`,
      `keyfile ${options.tls.serverKey}`,
      `require_certificate ${options.tls.requireCertificate ? 'true' : 'false'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs mosquitto until it listens on every port, or rejects with what it said. */
function launch(conf: string, ports: number[], logs: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    const opened = new Set<number>();
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      logs.push(chunk.toString());
      for (const m of text.matchAll(/Opening ipv[46] listen socket on port (\d+)/g)) opened.add(Number(m[1]));
      if (ports.every((p) => opened.has(p))) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mosquitto did not start: ${text}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        Object.assign(new Error(`mosquitto exited (${code}): ${text}`), { inUse: /in use/i.test(text) }),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-mosquitto-'));
  const logs: string[] = [];
  let child: ChildProcess | undefined;
  let port = 0;
  let tlsPort: number | undefined;
  const conf = join(dir, 'mosquitto.conf');
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    tlsPort = options.tls ? await freePort() : undefined;
    writeFileSync(conf, config(dir, port, tlsPort, options));
    try {
      child = await launch(conf, tlsPort === undefined ? [port] : [port, tlsPort], logs);
      break;
    } catch (error) {
      if (!(error as { inUse?: boolean }).inUse || attempt >= 5) throw error;
    }
  }
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  const broker: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    tlsPort,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    dir,
    get running() {
      return child !== undefined;
    },
    kill,
    async restart() {
      await kill();
      // The ports were ours a moment ago; another process taking one is retried briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          child = await launch(conf, tlsPort === undefined ? [port] : [port, tlsPort], logs);
          return;
        } catch (error) {
          if (!(error as { inUse?: boolean }).inUse || attempt >= 20) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    log: () => logs.join(''),
    async save() {
      const before = logs.join('').split('Saving in-memory database').length;
      child?.kill('SIGUSR1');
      await waitFor(() => logs.join('').split('Saving in-memory database').length > before);
      // The log line comes first; the file is complete once mosquitto.db.new is renamed.
      await waitFor(
        () => existsSync(join(dir, 'mosquitto.db')) && !existsSync(join(dir, 'mosquitto.db.new')),
      );
    },
  };
  onCleanup(async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return broker;
}

let subscribers = 0;

export interface SubMessage {
  topic: string;
  qos: number;
  retain: number;
  payload: string;
  payloadlen: number;
  properties?: { 'content-type'?: string; 'user-properties'?: Record<string, string> };
}

/**
 * `mosquitto_sub` as an independent MQTT 5 peer: one JSON line per message (mosquitto's own
 * %j format). Stopped after the test.
 */
export function mosquittoSub(
  broker: Broker,
  topic: string,
  extra: string[] = [],
): { messages: SubMessage[]; ready: Promise<void>; child: ChildProcess } {
  const id = `test-sub-${process.pid}-${++subscribers}`;
  const child = spawn(
    'mosquitto_sub',
    [
      '-V',
      'mqttv5',
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-i',
      id,
      '-t',
      topic,
      '-F',
      '%j',
      '-q',
      '1',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const messages: SubMessage[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let at = buffered.indexOf('\n');
    while (at >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line) messages.push(JSON.parse(line) as SubMessage);
      at = buffered.indexOf('\n');
    }
  });
  // mosquitto_sub says nothing once subscribed; the broker logs the subscription.
  const ready = waitFor(() => broker.log().includes(`${id} 1 ${topic}`));
  return { messages, ready, child };
}

/** Runs `mosquitto_pub` (MQTT 5) to completion. */
export function mosquittoPub(broker: Broker, args: string[]): string {
  return execFileSync(
    'mosquitto_pub',
    ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(broker.port), ...args],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
}

async function waitFor(predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
