import { Client, type Logger, moduleLogger, type RobotOptions, type TlsOptions } from '../index.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { payloadJson, vsoaRequest } from './gateway-map.js';
import { TopicTable } from './gateway-topics.js';
import { type Route, sendText } from './http.js';
import { cloneJson, type JsonValue } from './json.js';
import { type JugglerServer, listen } from './server.js';
import type { ListenOptions } from './server-options.js';
import { JugglerState } from './state.js';

export interface GatewayOptions {
  /** vsoa://host:port (or vsoa://name, looked up), or several for failover. */
  server: string | string[];
  /** VSOA URLs to subscribe to (default ['/']: everything). */
  subscribe?: string[];
  /** HTTP listen address (default 127.0.0.1) and port (default 8080; 0: from the OS). */
  host?: string;
  port?: number;
  /** VSOA server password and TLS. */
  passwd?: string;
  tls?: TlsOptions;
  /** Robot timings (keepalive, connTimeout, reconnDelay, ...). */
  robot?: Omit<RobotOptions, 'passwd' | 'tls'>;
  /** RPC timeout, ms (default 10000). */
  requestTimeout?: number;
  /** Also send every publish as a notify (name = url, data = { param, data? }). */
  notify?: boolean;
  /** Serve this directory instead of the built-in dashboard. */
  staticDir?: string | null;
  htpasswdFile?: string | null;
  pemFile?: string | null;
  /** Default 200 ms; 0 every change; null only flush(). */
  autoflushDelay?: number | null;
  /** Distinct topic URLs kept in the state (default 10000). */
  maxTopics?: number;
  /** Further juggler server options. */
  juggler?: Omit<ListenOptions, 'state' | 'staticDir' | 'htpasswdFile' | 'pemFile' | 'autoflushDelay'>;
}

/** A running gateway: VSOA robot client on one side, juggler server on the other. */
export interface Gateway {
  readonly juggler: JugglerServer;
  readonly vsoa: Client;
  readonly state: JugglerState;
  /** http(s)://host:port/ of the page. */
  readonly url: string;
  /** How many publishes and datagrams came from VSOA. */
  readonly stats: { publishes: number; datagrams: number };
  close(): Promise<void>;
}

/** Starts a gateway; resolves once the HTTP side listens (the VSOA side connects on its own). */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const servers = typeof options.server === 'string' ? [options.server] : options.server;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string')) {
    throw new TypeError('options.server must be a vsoa:// url or a list of them');
  }
  const subscribe = options.subscribe ?? ['/'];
  if (!Array.isArray(subscribe) || !subscribe.every((u) => typeof u === 'string' && u.startsWith('/'))) {
    throw new TypeError("options.subscribe must be a list of urls starting with '/'");
  }
  const log: Logger = moduleLogger('gateway');
  const requestTimeout = options.requestTimeout ?? 10_000;
  const state = new JugglerState({ vsoa: { connected: false, info: null }, topics: {} });
  const autoflushDelay = options.autoflushDelay === undefined ? 200 : options.autoflushDelay;
  const topics = new TopicTable(state, options.maxTopics ?? 10_000, (url) =>
    log.warn({ url, max: options.maxTopics ?? 10_000 }, 'too many topics: new urls are not kept'),
  );
  const stats = { publishes: 0, datagrams: 0 };
  const vsoa = new Client();
  let juggler: JugglerServer | null = null;

  const topicsRoute: Route = {
    path: '/api/topics',
    handler: (_req, res) => sendText(res, 200, JSON.stringify(topics.stats()), 'application/json'),
  };
  const routes = [
    topicsRoute,
    ...(options.staticDir ? [] : dashboardRoutes()),
    ...(options.juggler?.routes ?? []),
  ];
  juggler = await listen(
    options.host ?? '127.0.0.1',
    options.port ?? 8080,
    undefined,
    (_connection, name, data) => vsoaRequest(vsoa, name, data, requestTimeout),
    {
      parallelRequests: true,
      legacyWsPath: '/ws/0.6',
      ...options.juggler,
      routes,
      state,
      staticDir: options.staticDir ?? null,
      htpasswdFile: options.htpasswdFile ?? null,
      pemFile: options.pemFile ?? null,
      autoflushDelay,
    },
  );
  const server = juggler;

  vsoa.onconnect = (_c, connected, info) => {
    let shown: JsonValue = null;
    try {
      shown = connected ? cloneJson(info ?? null, 'info') : null;
    } catch {
      shown = String(info);
    }
    state.set(['vsoa'], { connected, info: shown });
  };
  vsoa.onmessage = (_c, url, payload) => {
    stats.publishes++;
    const json = payloadJson(payload);
    topics.update(url, json.param);
    if (options.notify) server.notifyAll(url, json);
  };
  vsoa.ondata = (_c, url, payload) => {
    stats.datagrams++;
    server.notifyAll(url, payloadJson(payload));
  };
  vsoa.subscribe(subscribe);
  const robot: RobotOptions = { ...options.robot, passwd: options.passwd ?? '' };
  if (options.tls) robot.tls = options.tls;
  vsoa.robot(servers, robot);

  const { host, port } = server.address();
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `${options.pemFile ? 'https' : 'http'}://${shown}:${port}/`;
  let closing: Promise<void> | null = null;
  return {
    juggler: server,
    vsoa,
    state,
    url,
    stats,
    close() {
      closing ??= (async () => {
        vsoa.close();
        await server.close();
      })();
      return closing;
    },
  };
}
