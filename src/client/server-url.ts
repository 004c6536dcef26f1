import net from 'node:net';

export interface ServerAddress {
  host: string;
  port: number;
  path: string;
}

/**
 * Parses `vsoa://host:port[/path]` with an IP host (`[v6]` in brackets) or `localhost`.
 * Throws TypeError for anything else.
 */
export function parseServerUrl(url: string, name = 'url'): ServerAddress {
  if (typeof url !== 'string') throw new TypeError(`${name} must be a string`);
  const m = /^vsoa:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?(\/.*)?$/i.exec(url);
  if (!m) throw new TypeError(`${name} must look like vsoa://host:port/path, got ${JSON.stringify(url)}`);
  let host = m[1] as string;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host.toLowerCase() === 'localhost') host = '127.0.0.1';
  if (net.isIP(host) === 0) throw new TypeError(`${name}: host ${host} is not an IP address`);
  if (m[2] === undefined) throw new TypeError(`${name} must include a port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`${name}: port ${port} is out of range`);
  return { host, port, path: m[3] ?? '/' };
}
