import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { Client } from '../../client/client.js';
import type { RobotOptions } from '../../client/robot.js';
import { parseVsoaUrl } from '../../position/resolve.js';
import { isValidUrl } from '../../protocol/url.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { getLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import { untilSignal } from '../connect.js';
import { UsageError } from '../errors.js';
import { payloadJson } from '../format.js';

/** The robot config file (`/etc/vsoa/robot-NAME.json`); command-line options override it. */
interface RobotConfig {
  server?: string | string[];
  passwd?: string;
  keepalive?: number;
  connTimeout?: number;
  reconnDelay?: number;
  maxReconnDelay?: number;
  subscribe?: string[];
}

interface RobotCliOptions {
  config?: string;
  sub?: string[];
  passwd?: string;
  keepalive?: number;
  connTimeout?: number;
  reconnDelay?: number;
  maxReconnDelay?: number;
  exec?: string;
  ndjson?: boolean;
  readyAtStart?: boolean;
}

/** Output waiting for a slow consumer is bounded; past this, messages are dropped and counted. */
const MAX_OUTPUT_BACKLOG = 8 * 1024 * 1024;

function readConfig(path: string): RobotConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read robot config ${path}: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`robot config ${path} must be a JSON object`);
  }
  const config = parsed as Record<string, unknown>;
  const known = new Set([
    'server',
    'passwd',
    'keepalive',
    'connTimeout',
    'reconnDelay',
    'maxReconnDelay',
    'subscribe',
  ]);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new UsageError(`robot config ${path}: unknown key "${key}"`);
  }
  for (const key of ['keepalive', 'connTimeout', 'reconnDelay', 'maxReconnDelay']) {
    const v = config[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
      throw new UsageError(`robot config ${path}: "${key}" must be a whole number of milliseconds`);
    }
  }
  if (config.passwd !== undefined && typeof config.passwd !== 'string') {
    throw new UsageError(`robot config ${path}: "passwd" must be a string`);
  }
  const server = config.server;
  if (
    server !== undefined &&
    typeof server !== 'string' &&
    !(Array.isArray(server) && server.every((s) => typeof s === 'string'))
  ) {
    throw new UsageError(`robot config ${path}: "server" must be a url or a list of urls`);
  }
  const subscribe = config.subscribe;
  if (
    subscribe !== undefined &&
    !(Array.isArray(subscribe) && subscribe.every((s) => typeof s === 'string'))
  ) {
    throw new UsageError(`robot config ${path}: "subscribe" must be a list of topics`);
  }
  return config as RobotConfig;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Where messages go: stdout, or the stdin of a command (restarting nothing: the service restarts). */
function outputSink(exec: string | undefined): { out: Writable; done: Promise<string> } {
  if (!exec) return { out: process.stdout, done: new Promise<string>(() => {}) };
  const child = spawn('/bin/sh', ['-c', exec], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(`--exec command exited (${signal ?? code})`));
    child.on('error', (error) => resolve(`--exec command failed: ${error.message}`));
  });
  child.stdin.on('error', () => {});
  return { out: child.stdin, done };
}

export function register(program: Command): void {
  program
    .command('robot')
    .description(
      'keep a connection to a server (reconnecting, re-subscribing) and write its messages as NDJSON',
    )
    .argument('[url...]', 'vsoa://host:port or vsoa://name; several for failover')
    .option(
      '--config <file>',
      'robot config JSON: { server, passwd, keepalive, connTimeout, reconnDelay, subscribe }',
    )
    .option('--sub <topic>', 'subscribe to a topic (repeatable)', collect)
    .option('--passwd <password>', 'server password')
    .option('--keepalive <ms>', 'ping interval and timeout', intArg('--keepalive', 50, 3_600_000))
    .option('--conn-timeout <ms>', 'connect and handshake timeout', intArg('--conn-timeout', 50, 3_600_000))
    .option('--reconn-delay <ms>', 'wait before reconnecting', intArg('--reconn-delay', 0, 3_600_000))
    .option(
      '--max-reconn-delay <ms>',
      'exponential backoff cap (off by default)',
      intArg('--max-reconn-delay', 0, 86_400_000),
    )
    .option('--exec <command>', "feed messages to this shell command's stdin instead of stdout")
    .option('--ndjson', 'write messages as NDJSON to stdout (the default)')
    .option('--ready-at-start', 'tell systemd READY=1 at once instead of after the first connect')
    .action(async (urls: string[], opts: RobotCliOptions) => {
      const config = opts.config ? readConfig(opts.config) : {};
      const servers =
        urls.length > 0 ? urls : typeof config.server === 'string' ? [config.server] : (config.server ?? []);
      if (servers.length === 0)
        throw new UsageError('give a server url, or a --config with "server"; see \'vsoa robot --help\'');
      for (const server of servers) {
        try {
          parseVsoaUrl(server);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      }
      const topics = [...(config.subscribe ?? []), ...(opts.sub ?? [])];
      for (const topic of topics)
        if (!isValidUrl(topic)) throw new UsageError(`topic ${topic} must start with '/'`);
      if (opts.exec && opts.ndjson) throw new UsageError('--exec and --ndjson exclude each other');

      const log = getLogger();
      const robotOptions: RobotOptions = {
        passwd: opts.passwd ?? config.passwd ?? '',
        keepalive: opts.keepalive ?? config.keepalive ?? 3000,
        connTimeout: opts.connTimeout ?? config.connTimeout ?? 10_000,
        reconnDelay: opts.reconnDelay ?? config.reconnDelay ?? 1000,
      };
      const maxReconnDelay = opts.maxReconnDelay ?? config.maxReconnDelay;
      if (maxReconnDelay !== undefined) robotOptions.maxReconnDelay = maxReconnDelay;

      const { out, done: outputGone } = outputSink(opts.exec);
      let messages = 0;
      let dropped = 0;
      const client = new Client();
      client.onmessage = (_c, url, payload, quick) => {
        messages++;
        if (out.writableLength > MAX_OUTPUT_BACKLOG) {
          if (dropped++ % 1000 === 0) log.warn({ dropped }, 'output consumer too slow: dropping messages');
          return;
        }
        out.write(
          `${JSON.stringify({ time: new Date().toISOString(), url, quick, ...payloadJson(payload) })}\n`,
        );
      };

      const watchdog = new Watchdog();
      watchdog.addCheck('robot', () => client.robotHealth());
      watchdog.start();
      if (opts.readyAtStart) watchdog.ready();
      let everConnected = false;
      const status = (): void => {
        const stats = client.robotStats();
        watchdog.status(
          client.connected
            ? `connected to ${stats?.server}, ${messages} messages`
            : `${stats?.state ?? 'starting'}: ${stats?.server}`,
        );
      };
      client.onconnect = (_c, connected) => {
        log.info(
          { connected, server: client.robotStats()?.server },
          connected ? 'connected' : 'disconnected',
        );
        if (connected && !everConnected) {
          everConnected = true;
          watchdog.ready();
        }
        status();
      };
      client.on('robot-connect-failed', (server: string, code: number) => {
        log.warn({ server, code }, 'connect failed');
        status();
      });
      if (topics.length > 0) client.subscribe(topics);
      client.robot(servers, robotOptions);
      status();

      const reason = await Promise.race([untilSignal(), outputGone]);
      log.info({ reason, messages, dropped }, 'stopping');
      watchdog.stopping();
      watchdog.stop();
      client.close();
      if (out !== process.stdout) out.end();
      if (typeof reason === 'string' && reason.startsWith('--exec')) throw new Error(reason);
    });
}
