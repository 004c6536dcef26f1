import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BridgeOptions, BrokerOptions } from '../../mqtt/index.js';
import { parseVsoaUrl } from '../../position/resolve.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { getLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import { assignDefined, checkServerKey, readConfigObject, type ServerConfig } from '../config-file.js';
import { untilSignal } from '../connect.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  connectOptionsFrom,
  passwdFromFile,
  tlsFromConfig,
} from '../connect-options.js';
import { UsageError } from '../errors.js';

/** The broker password, when neither --password-file nor the config's passwordFile is given. */
const PASSWORD_ENV = 'VSOA_MQTT_PASSWORD';

/** The bridge config file (`/etc/vsoa/bridge-NAME.json`); command-line options override it. */
interface BridgeConfig extends ServerConfig {
  broker?: string;
  prefix?: string;
  subscribe?: string[];
  downRpc?: string[];
  downDgram?: string[];
  qos?: number;
  retain?: boolean;
  store?: string;
  storeMax?: number;
  offlineQuick?: string;
  statsInterval?: number;
  rpcTimeout?: number;
  mqttVersion?: string;
  clientId?: string;
  username?: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The command line: the config's keys, except `--sub` for `subscribe` and `--qos` still text. */
interface BridgeCliOptions
  extends ConnectCliOptions,
    Omit<BridgeConfig, keyof ServerConfig | 'subscribe' | 'qos'> {
  config?: string;
  sub?: string[];
  qos?: string;
}

const CONFIG_TYPES: Record<keyof BridgeConfig, 'string' | 'strings' | 'number' | 'boolean' | 'any'> = {
  server: 'any',
  passwd: 'string',
  passwdFile: 'string',
  tls: 'any',
  broker: 'string',
  prefix: 'string',
  subscribe: 'strings',
  downRpc: 'strings',
  downDgram: 'strings',
  qos: 'number',
  retain: 'boolean',
  store: 'string',
  storeMax: 'number',
  offlineQuick: 'string',
  statsInterval: 'number',
  rpcTimeout: 'number',
  mqttVersion: 'string',
  clientId: 'string',
  username: 'string',
  passwordFile: 'string',
  tlsCa: 'string',
  tlsCert: 'string',
  tlsKey: 'string',
};

function readConfig(path: string): BridgeConfig {
  const parsed = readConfigObject(path, 'bridge', Object.keys(CONFIG_TYPES));
  for (const [key, value] of Object.entries(parsed)) {
    const type = CONFIG_TYPES[key as keyof BridgeConfig];
    const ok =
      type === 'any' ||
      (type === 'strings'
        ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : typeof value === type);
    if (!ok)
      throw new UsageError(
        `bridge config ${path}: "${key}" must be ${type === 'strings' ? 'a list of strings' : `a ${type}`}`,
      );
  }
  checkServerKey(parsed, 'bridge', path);
  return parsed as BridgeConfig;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** The broker side from flags over config. */
function brokerFrom(opts: BridgeCliOptions, config: BridgeConfig): BrokerOptions {
  const url = opts.broker ?? config.broker;
  if (!url)
    throw new UsageError(
      'give --broker mqtt://host:port (or "broker" in --config); see \'vsoa bridge --help\'',
    );
  if (!/^mqtts?:\/\/[^/]+/.test(url))
    throw new UsageError(`--broker ${url} must be mqtt://host:port or mqtts://host:port`);
  const broker: BrokerOptions = { url };
  const version = opts.mqttVersion ?? config.mqttVersion ?? '5';
  if (version !== '5' && version !== '3.1.1') throw new UsageError('--mqtt-version must be 5 or 3.1.1');
  broker.protocolVersion = version === '5' ? 5 : 4;
  const username = opts.username ?? config.username;
  if (username !== undefined) broker.username = username;
  const passwordFile = opts.passwordFile ?? config.passwordFile;
  const password = passwordFile ? passwdFromFile(passwordFile, '--password-file') : process.env[PASSWORD_ENV];
  if (password !== undefined && password !== '') broker.password = password;
  const ca = opts.tlsCa ?? config.tlsCa;
  const cert = opts.tlsCert ?? config.tlsCert;
  const key = opts.tlsKey ?? config.tlsKey;
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if ((ca || cert) && !url.startsWith('mqtts:'))
    throw new UsageError('--tls-ca/--tls-cert need an mqtts:// broker');
  if (ca) broker.ca = readPem(ca, '--tls-ca');
  if (cert) broker.cert = readPem(cert, '--tls-cert');
  if (key) broker.key = readPem(key, '--tls-key');
  const clientId = opts.clientId ?? config.clientId;
  if (clientId !== undefined) broker.clientId = clientId;
  return broker;
}

/** The whole BridgeOptions from the arguments, flags and config file. */
function optionsFrom(urls: string[], opts: BridgeCliOptions, config: BridgeConfig): BridgeOptions {
  const servers =
    urls.length > 0 ? urls : typeof config.server === 'string' ? [config.server] : (config.server ?? []);
  if (servers.length === 0)
    throw new UsageError('give a VSOA server url, or a --config with "server"; see \'vsoa bridge --help\'');
  for (const server of servers) {
    try {
      parseVsoaUrl(server);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const prefix = opts.prefix ?? config.prefix;
  if (!prefix) throw new UsageError('give --prefix, e.g. --prefix vehicles/car-17');
  const subscribe = [...(config.subscribe ?? []), ...(opts.sub ?? [])];
  if (subscribe.length === 0) throw new UsageError('give at least one --sub URL to bridge up');
  const connect = connectOptionsFrom(opts);
  const robot: NonNullable<BridgeOptions['robot']> = {
    passwd:
      opts.passwd !== undefined || opts.passwdFile !== undefined
        ? connect.passwd
        : config.passwdFile
          ? passwdFromFile(config.passwdFile, 'passwdFile')
          : (config.passwd ?? ''),
    connTimeout: connect.timeout,
  };
  const tls = connect.tls ?? tlsFromConfig(config.tls, 'bridge config');
  if (tls) robot.tls = tls;
  const qos = opts.qos ?? (config.qos === undefined ? '1' : String(config.qos));
  if (qos !== '0' && qos !== '1') throw new UsageError('--qos must be 0 or 1');
  const offlineQuick = opts.offlineQuick ?? config.offlineQuick ?? 'drop';
  if (offlineQuick !== 'drop' && offlineQuick !== 'queue')
    throw new UsageError('--offline-quick must be drop or queue');
  const options: BridgeOptions = {
    vsoa: servers,
    robot,
    broker: brokerFrom(opts, config),
    prefix,
    subscribe,
    downRpc: [...(config.downRpc ?? []), ...(opts.downRpc ?? [])],
    downDgram: [...(config.downDgram ?? []), ...(opts.downDgram ?? [])],
    qos: qos === '0' ? 0 : 1,
    retain: opts.retain ?? config.retain ?? false,
    offlineQuick,
  };
  // systemd's StateDirectory= (several are colon-separated: the first is ours).
  const store = opts.store ?? config.store ?? process.env.STATE_DIRECTORY?.split(':')[0];
  if (store) options.store = store;
  assignDefined(options, {
    storeMax: opts.storeMax ?? config.storeMax,
    statsInterval: opts.statsInterval ?? config.statsInterval,
    rpcTimeout: opts.rpcTimeout ?? config.rpcTimeout,
  });
  return options;
}

export function register(program: Command): void {
  const command = program
    .command('bridge')
    .description(
      'bridge a VSOA server to an MQTT broker: publishes up (store-and-forward), RPCs and datagrams down',
    )
    .argument('[url...]', 'vsoa://host:port or vsoa://name; several for failover')
    .option(
      '--config <file>',
      'bridge config JSON (keys as the long options, camelCased); options override it',
    )
    .option('--broker <url>', 'mqtt://host:port or mqtts://host:port')
    .option('--prefix <topic>', 'topic prefix of this vehicle, e.g. vehicles/car-17')
    .option('--sub <url>', 'VSOA url to bridge up (repeatable; a trailing / covers a subtree)', collect)
    .option(
      '--down-rpc <prefix>',
      'allow down RPCs to urls under this prefix (repeatable; none by default)',
      collect,
    )
    .option('--down-dgram <prefix>', 'allow down datagrams to urls under this prefix (repeatable)', collect)
    .option('--qos <0|1>', 'QoS of up messages (default 1: at-least-once)')
    .option('--retain', 'publish up messages retained (the last value per topic)')
    .option('--store <dir>', 'on-disk queue directory (default $STATE_DIRECTORY; none: memory only)')
    .option(
      '--store-max <bytes>',
      'queue bound (default 64 MiB on disk, 8 MiB in memory)',
      intArg('--store-max', 1024 * 1024, 2 ** 40),
    )
    .option(
      '--offline-quick <drop|queue>',
      'quick (UDP) publishes while the broker is unreachable (default drop)',
    )
    .option(
      '--stats-interval <ms>',
      'heartbeat on <prefix>/$stats (default 30000; 0: none)',
      intArg('--stats-interval', 0, 86_400_000),
    )
    .option(
      '--rpc-timeout <ms>',
      'timeout of down RPCs (default 10000)',
      intArg('--rpc-timeout', 1, 3_600_000),
    )
    .option('--mqtt-version <5|3.1.1>', 'MQTT protocol version (default 5; 3.1.1 has no down RPC)')
    .option('--client-id <id>', 'MQTT client id (default vsoa-bridge-<prefix>)')
    .option('--username <name>', 'broker username')
    .option('--password-file <file>', `broker password from the first line of a file (or ${PASSWORD_ENV})`)
    .option('--tls-ca <file>', "CA (PEM) that signs the broker's certificate")
    .option('--tls-cert <file>', 'client certificate (PEM) for the broker')
    .option('--tls-key <file>', 'client key (PEM), with --tls-cert');
  addConnectOptions(command, { timeoutHelp: 'VSOA connect timeout (ms)' });
  command.addHelpText(
    'after',
    `\nEnvironment:\n  ${PASSWORD_ENV}  broker password\n  VSOA_PASSWD  VSOA server password\n  STATE_DIRECTORY  default --store (systemd StateDirectory=)\n\nExit status 2: a usage error, or the broker refused the credentials or TLS at start-up.`,
  );
  command.action(async (urls: string[], opts: BridgeCliOptions) => {
    const config = opts.config ? readConfig(opts.config) : {};
    const options = optionsFrom(urls, opts, config);
    const log = getLogger();
    options.logger = log.child({ mod: 'bridge' });
    // Loaded here, not at the top: every other verb starts without the mqtt package.
    const { Bridge } = await import('../../mqtt/index.js');
    let bridge: InstanceType<typeof Bridge>;
    try {
      bridge = new Bridge(options);
      bridge.start();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    await runBridge(bridge);
  });
}

type RunningBridge = InstanceType<typeof import('../../mqtt/index.js').Bridge>;

/** Runs until a signal, or until the broker refuses us before the first connect (exit 2). */
async function runBridge(bridge: RunningBridge): Promise<void> {
  const log = getLogger();
  const watchdog = new Watchdog();
  watchdog.addCheck('bridge', () => bridge.health());
  watchdog.start();
  const status = (): void => {
    const s = bridge.stats();
    watchdog.status(
      `broker ${s.broker.connected ? 'connected' : 'unreachable'}, VSOA ${s.vsoa.connected ? 'connected' : s.vsoa.state}, ` +
        `${s.up.published} up, ${s.queued} queued, ${s.dropped} dropped`,
    );
  };
  // A store left from before (a crash, an outage) is worth starting on: READY at once.
  if (bridge.queued > 0) watchdog.ready();
  let everConnected = false;
  const refused = new Promise<Error>((resolve) => {
    bridge.on('broker-error', (error: Error & { code: string }) => {
      if (!everConnected && (error.code === 'ERR_MQTT_AUTH' || error.code === 'ERR_MQTT_TLS')) resolve(error);
    });
  });
  bridge.on('broker-connect', () => {
    if (!everConnected) {
      everConnected = true;
      watchdog.ready();
    }
    status();
  });
  bridge.on('broker-disconnect', status);
  bridge.on('vsoa-connect', status);
  const timer = setInterval(status, 5000);
  timer.unref();
  const reason = await Promise.race([untilSignal(), refused]);
  clearInterval(timer);
  watchdog.stopping();
  watchdog.stop();
  if (reason instanceof Error) {
    await bridge.close();
    throw new UsageError(reason.message);
  }
  log.info({ reason, ...bridge.stats().up, queued: bridge.queued }, 'stopping');
  await bridge.close();
}
