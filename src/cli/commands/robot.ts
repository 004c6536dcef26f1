import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { MIN_ROBOT_TIMING, ROBOT_DEFAULTS, type RobotOptions } from '../../client/options.js';
import { parseVsoaUrl } from '../../position/resolve.js';
import { ConnectCode } from '../../protocol/constants.js';
import { connectCodeName } from '../../protocol/names.js';
import { isValidUrl } from '../../protocol/url.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { getLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import {
  checkServerKey,
  isStringList,
  ROBOT_SERVER_CONFIG_KEYS,
  type RobotServerConfig,
  readConfigObject,
} from '../config-file.js';
import { untilSignal } from '../connect.js';
import { ConnectionLog, reportingClient } from '../connect-log.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  clientTlsFrom,
  PASSWD_ENV,
  passwdFromFile,
  tlsFromConfig,
} from '../connect-options.js';
import { UsageError } from '../errors.js';
import { payloadJson } from '../format.js';
import { CONNECT_ENV, helpFooter } from '../help.js';

/** The robot config file (`/etc/vsoa/robot-NAME.json`); command-line options override it. */
interface RobotConfig extends RobotServerConfig {
  subscribe?: string[];
}

interface RobotCliOptions extends ConnectCliOptions {
  config?: string;
  sub?: string[];
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
  const config = readConfigObject(path, 'robot', [...ROBOT_SERVER_CONFIG_KEYS, 'subscribe']);
  for (const key of ['keepalive', 'connTimeout', 'reconnDelay', 'maxReconnDelay']) {
    const v = config[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
      throw new UsageError(`robot config ${path}: "${key}" must be a whole number of milliseconds`);
    }
  }
  for (const key of ['passwd', 'passwdFile']) {
    if (config[key] !== undefined && typeof config[key] !== 'string') {
      throw new UsageError(`robot config ${path}: "${key}" must be a string`);
    }
  }
  checkServerKey(config, 'robot', path);
  if (config.subscribe !== undefined && !isStringList(config.subscribe)) {
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

/** The password: flags and VSOA_PASSWD first, then the config's passwd / passwdFile. */
function robotPasswd(opts: RobotCliOptions, config: RobotConfig, configPath: string | undefined): string {
  if (opts.passwdFile !== undefined) return passwdFromFile(opts.passwdFile);
  if (opts.passwd !== undefined) return opts.passwd;
  if (config.passwdFile !== undefined)
    return passwdFromFile(config.passwdFile, `robot config ${configPath}: passwdFile`);
  return config.passwd ?? '';
}

export function register(program: Command): void {
  const command = program
    .command('robot')
    .description(
      'keep a connection to a server (reconnecting, re-subscribing) and write its messages as NDJSON',
    )
    .argument('[url...]', 'vsoa://host:port or vsoa://name; several for failover')
    .option(
      '--config <file>',
      'robot config JSON: { server, passwd, passwdFile, tls, keepalive, connTimeout, reconnDelay, maxReconnDelay, subscribe }',
    )
    .option('--sub <topic>', 'subscribe to a topic (repeatable)', collect);
  addConnectOptions(command, { timeout: false });
  command
    .option(
      '--keepalive <ms>',
      'ping interval and timeout',
      intArg('--keepalive', MIN_ROBOT_TIMING, 3_600_000),
    )
    .option(
      '--conn-timeout <ms>',
      'connect and handshake timeout',
      intArg('--conn-timeout', MIN_ROBOT_TIMING, 3_600_000),
    )
    .option('--reconn-delay <ms>', 'wait before reconnecting', intArg('--reconn-delay', 0, 3_600_000))
    .option(
      '--max-reconn-delay <ms>',
      'exponential backoff cap (off by default)',
      intArg('--max-reconn-delay', 0, 86_400_000),
    )
    .option('--exec <command>', "feed messages to this shell command's stdin instead of stdout")
    .option('--ndjson', 'write messages as NDJSON to stdout (the default)')
    .option('--ready-at-start', 'tell systemd READY=1 at once instead of after the first connect')
    .addHelpText(
      'after',
      helpFooter(
        {
          0: 'stopped by SIGINT/SIGTERM, or stdout closed',
          1: 'the --exec command ended',
          2: `configuration error: bad option or config file, a wrong password (${connectCodeName(ConnectCode.INVALID_PASSWD)}), a secure server without TLS settings; systemd does not restart it (RestartPreventExitStatus=2)`,
        },
        [
          ...CONNECT_ENV,
          'NOTIFY_SOCKET, WATCHDOG_USEC  set by systemd: READY=1 after the first connect, watchdog pings',
        ],
      ),
    )
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

      const where = `robot config ${opts.config}`;
      const tls = clientTlsFrom(opts) ?? (opts.config ? tlsFromConfig(config.tls, where) : undefined);
      const log = getLogger();
      const robotOptions: RobotOptions = {
        passwd: robotPasswd(opts, config, opts.config),
        keepalive: opts.keepalive ?? config.keepalive ?? ROBOT_DEFAULTS.keepalive,
        connTimeout: opts.connTimeout ?? config.connTimeout ?? ROBOT_DEFAULTS.connTimeout,
        reconnDelay: opts.reconnDelay ?? config.reconnDelay ?? ROBOT_DEFAULTS.reconnDelay,
      };
      const maxReconnDelay = opts.maxReconnDelay ?? config.maxReconnDelay;
      if (maxReconnDelay !== undefined) robotOptions.maxReconnDelay = maxReconnDelay;
      if (tls) robotOptions.tls = tls;

      const { out, done: outputGone } = outputSink(opts.exec);
      let messages = 0;
      let dropped = 0;
      const connections = new ConnectionLog(log);
      /** Set when retrying cannot help; the robot then exits 2 (RestartPreventExitStatus=2). */
      let configError: ((reason: string) => void) | undefined;
      const fatal = new Promise<UsageError>((resolve) => {
        configError = (reason) => resolve(new UsageError(reason));
      });
      const client = reportingClient(tls !== undefined, (message) =>
        configError?.(`${message}: set "tls" in the config or pass --tls (and --ca FILE)`),
      );
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
        const server = client.robotStats()?.server ?? servers[0] ?? '';
        if (connected) connections.connected(server);
        else connections.lost(server);
        if (connected && !everConnected) {
          everConnected = true;
          watchdog.ready();
        }
        status();
      };
      client.on('robot-connect-failed', (server: string, code: number) => {
        if (code === ConnectCode.INVALID_PASSWD) {
          configError?.(
            `${server}: code ${code} ${connectCodeName(code)}: the server refused the password; fix passwd/passwdFile, --passwd or ${PASSWD_ENV}`,
          );
          return;
        }
        connections.failed(server, code);
        status();
      });
      if (topics.length > 0) client.subscribe(topics);
      client.robot(servers, robotOptions);
      status();

      const reason = await Promise.race([untilSignal(), outputGone, fatal]);
      const stopping = reason instanceof Error ? reason.message : reason;
      if (reason instanceof Error) log.error({ reason: stopping }, 'configuration error: stopping (exit 2)');
      else log.info({ reason: stopping, messages, dropped }, 'stopping');
      watchdog.stopping();
      watchdog.stop();
      client.close();
      if (out !== process.stdout) out.end();
      if (reason instanceof Error) throw reason;
      if (reason.startsWith('--exec')) throw new Error(reason);
    });
}
