import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { createGateway, type GatewayOptions } from '../../juggler/index.js';
import { parseVsoaUrl } from '../../position/resolve.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { getLogger } from '../../util/log.js';
import {
  checkServerKey,
  isStringList,
  readConfigObject,
  SERVER_CONFIG_KEYS,
  type ServerConfig,
} from '../config-file.js';
import { untilSignal } from '../connect.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  connectOptionsFrom,
  passwdFromFile,
  tlsFromConfig,
} from '../connect-options.js';
import { UsageError } from '../errors.js';

/** The gateway config file (`/etc/vsoa/gateway-NAME.json`); command-line options override it. */
interface GatewayConfig extends ServerConfig {
  subscribe?: string[];
  http?: string;
  static?: string;
  htpasswd?: string;
  pem?: string;
  autoflush?: number;
  notify?: boolean;
}

interface GatewayCliOptions extends ConnectCliOptions {
  config?: string;
  sub?: string[];
  http?: { host: string; port: number };
  static?: string;
  htpasswd?: string;
  pem?: string;
  autoflush?: number;
  notify?: boolean;
  requestTimeout?: number;
}

const CONFIG_KEYS = [
  ...SERVER_CONFIG_KEYS,
  'subscribe',
  'http',
  'static',
  'htpasswd',
  'pem',
  'autoflush',
  'notify',
];

function httpArg(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const host = match ? (match[1] ?? match[2] ?? '') || '127.0.0.1' : '';
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !(host === 'localhost' || isIP(host) !== 0) || !(port >= 0 && port <= 65535)) {
    throw new InvalidArgumentError(`must be ADDR:PORT (an IP address, [v6]:port, or a port), got '${value}'`);
  }
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

function autoflushArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 3_600_000)
    throw new InvalidArgumentError('must be milliseconds 0-3600000');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function readConfig(path: string): GatewayConfig {
  const config = readConfigObject(path, 'gateway', CONFIG_KEYS);
  for (const key of ['http', 'static', 'htpasswd', 'pem', 'passwd', 'passwdFile']) {
    if (config[key] !== undefined && typeof config[key] !== 'string') {
      throw new UsageError(`gateway config ${path}: "${key}" must be a string`);
    }
  }
  const a = config.autoflush;
  if (a !== undefined && !(typeof a === 'number' && Number.isInteger(a) && a >= 0 && a <= 3_600_000)) {
    throw new UsageError(`gateway config ${path}: "autoflush" must be milliseconds (0: every change)`);
  }
  if (config.notify !== undefined && typeof config.notify !== 'boolean') {
    throw new UsageError(`gateway config ${path}: "notify" must be true or false`);
  }
  checkServerKey(config, 'gateway', path);
  if (config.subscribe !== undefined && !isStringList(config.subscribe)) {
    throw new UsageError(`gateway config ${path}: "subscribe" must be a list of urls`);
  }
  return config as GatewayConfig;
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

export function register(program: Command): void {
  const command = program
    .command('gateway')
    .description(
      'serve a VSOA server to browsers: juggler WebSocket (state, RPC, datagrams) and a live dashboard',
    )
    .argument('[url...]', 'vsoa://host:port or vsoa://name; several for failover')
    .option(
      '--config <file>',
      'gateway config JSON: { server, subscribe, http, static, htpasswd, pem, passwd, tls, autoflush, notify }',
    )
    .option('--sub <url>', "subscribe to a url (repeatable; default '/': everything)", collect)
    .option('--http <addr:port>', 'where the page and WebSocket listen (default 127.0.0.1:8080)', httpArg)
    .option('--static <dir>', 'serve this directory instead of the built-in dashboard')
    .option('--htpasswd <file>', 'require HTTP Basic auth (htpasswd file: bcrypt, {SHA} or apr1 entries)')
    .option('--pem <file>', 'serve https/wss with this PEM (private key and certificate)')
    .option('--autoflush <ms>', 'state diff delay (default 200; 0: every change)', autoflushArg)
    .option('--notify', 'also send every publish as a juggler notify')
    .option('--request-timeout <ms>', 'RPC timeout (default 10000)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 3_600_000)
        throw new InvalidArgumentError('must be 1-3600000 ms');
      return n;
    });
  addConnectOptions(command, { timeoutHelp: 'VSOA connect timeout' });
  command.action(async (urls: string[], opts: GatewayCliOptions) => {
    const config = opts.config ? readConfig(opts.config) : {};
    const servers =
      urls.length > 0 ? urls : typeof config.server === 'string' ? [config.server] : (config.server ?? []);
    if (servers.length === 0)
      throw new UsageError('give a server url, or a --config with "server"; see \'vsoa gateway --help\'');
    for (const server of servers) wrap('server', () => parseVsoaUrl(server));
    const subscribe = [...(config.subscribe ?? []), ...(opts.sub ?? [])];
    for (const url of subscribe)
      if (!url.startsWith('/')) throw new UsageError(`--sub ${url} must start with '/'`);
    const http =
      opts.http ?? (config.http ? wrap('config "http"', () => httpArg(config.http as string)) : undefined);
    const connect = connectOptionsFrom(opts);
    const where = opts.config ?? 'config';
    const passwd =
      opts.passwd !== undefined || opts.passwdFile !== undefined
        ? connect.passwd
        : config.passwdFile
          ? passwdFromFile(config.passwdFile, `${where}: "passwdFile"`)
          : (config.passwd ?? '');
    const tls = connect.tls ?? tlsFromConfig(config.tls, where);
    const options: GatewayOptions = {
      server: servers,
      subscribe: subscribe.length > 0 ? subscribe : ['/'],
      host: http?.host ?? '127.0.0.1',
      port: http?.port ?? 8080,
      passwd,
      robot: { connTimeout: connect.timeout },
      staticDir: opts.static ?? config.static ?? null,
      htpasswdFile: opts.htpasswd ?? config.htpasswd ?? null,
      pemFile: opts.pem ?? config.pem ?? null,
      autoflushDelay: opts.autoflush ?? config.autoflush ?? 200,
      notify: opts.notify ?? config.notify ?? false,
      requestTimeout: opts.requestTimeout ?? 10_000,
    };
    if (tls) options.tls = tls;

    const log = getLogger();
    const watchdog = new Watchdog();
    let gateway: Awaited<ReturnType<typeof createGateway>>;
    try {
      gateway = await createGateway(options);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (
        e.name === 'HtpasswdError' ||
        e.code === 'ENOENT' ||
        e.code === 'EADDRINUSE' ||
        e.code === 'EACCES'
      ) {
        throw new UsageError(e.message);
      }
      throw error;
    }
    const { vsoa } = gateway;
    watchdog.addCheck('vsoa', () => vsoa.robotHealth());
    watchdog.start();
    const status = (): void => {
      const stats = vsoa.robotStats();
      const clients = gateway.juggler.connections.size;
      watchdog.status(
        `${gateway.url} ${clients} browser(s); VSOA ${vsoa.connected ? `connected to ${stats?.server}` : (stats?.state ?? 'starting')}`,
      );
    };
    const previous = vsoa.onconnect;
    vsoa.onconnect = (c, connected, info) => {
      previous?.(c, connected, info);
      log.info(
        { connected, server: vsoa.robotStats()?.server },
        connected ? 'VSOA connected' : 'VSOA disconnected',
      );
      status();
    };
    const timer = setInterval(status, 5000);
    timer.unref();
    process.stdout.write(`${gateway.url}\n`);
    log.info({ url: gateway.url, servers, subscribe: options.subscribe }, 'gateway listening');
    watchdog.ready();
    status();

    const reason = await untilSignal();
    log.info({ reason, ...gateway.stats }, 'stopping');
    watchdog.stopping();
    clearInterval(timer);
    watchdog.stop();
    await gateway.close();
  });
}
