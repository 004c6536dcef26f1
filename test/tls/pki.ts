import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A throwaway PKI made with the openssl command line at test time (no private key is ever
 * committed): two CAs, a server certificate for 127.0.0.1/::1/localhost, and client
 * certificates from each CA. EC P-256 keys keep generation fast.
 */

export interface Pki {
  dir: string;
  /** File paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The server key encrypted with `keyPasswd`. */
  serverKeyEncrypted: string;
  keyPasswd: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing our server trusts. */
  otherCaCert: string;
  otherClientCert: string;
  otherClientKey: string;
  /** A server certificate for the name `elsewhere.test` only (hostname mismatch). */
  elsewhereCert: string;
  elsewhereKey: string;
  read(path: string): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  return join(dir, name);
}

function makeCa(dir: string, name: string, cn: string): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert: join(dir, `${name}.crt`), key };
}

let serial = 0x1000;

function issue(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  cn: string,
  extensions: string,
): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, ['req', '-new', '-key', key, '-out', `${name}.csr`, '-subj', `/CN=${cn}/O=vsoa-edge tests`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  serial++;
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    String(serial),
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return { cert: join(dir, `${name}.crt`), key };
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-pki-'));
  const ca = makeCa(dir, 'ca', 'vsoa-edge test CA');
  const other = makeCa(dir, 'other-ca', 'unrelated CA');
  const serverExt =
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n';
  const clientExt = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
  const server = issue(dir, ca, 'server', 'localhost', serverExt);
  const elsewhere = issue(
    dir,
    ca,
    'elsewhere',
    'elsewhere.test',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.test\n',
  );
  const client = issue(dir, ca, 'client', 'test client', clientExt);
  const otherClient = issue(dir, other, 'other-client', 'stranger', clientExt);
  const keyPasswd = 'key secret';
  openssl(dir, [
    'pkey',
    '-in',
    server.key,
    '-aes256',
    '-passout',
    `pass:${keyPasswd}`,
    '-out',
    'server-enc.key',
  ]);
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    serverKeyEncrypted: join(dir, 'server-enc.key'),
    keyPasswd,
    clientCert: client.cert,
    clientKey: client.key,
    otherCaCert: other.cert,
    otherClientCert: otherClient.cert,
    otherClientKey: otherClient.key,
    elsewhereCert: elsewhere.cert,
    elsewhereKey: elsewhere.key,
    read: (path) => readFileSync(path, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
