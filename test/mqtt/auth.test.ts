import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vsoa } from '../helpers/cli.js';
import { memoryLogger, onCleanup, startServer, until } from '../helpers/net.js';
import { makePki, type Pki } from '../tls/pki.js';
import { startBroker } from './broker.js';
import { mqttPeer, startBridge } from './peers.js';

const ACL = `user car17
topic readwrite vehicles/car-17/#
topic deny vehicles/car-17/secret/#
user cloud
topic read vehicles/#
`;

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

function passwordFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-mqtt-pw-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pw'), `${text}\n`);
  return join(dir, 'pw');
}

describe('MQTT bridge: broker credentials, ACL and TLS', () => {
  it('connects with a password over mqtts, within its ACL; a refused publish is counted, not retried', async () => {
    const broker = await startBroker({
      users: { car17: 's3cret', cloud: 'cl0ud' },
      acl: ACL,
      tls: { caCert: pki.caCert, serverCert: pki.serverCert, serverKey: pki.serverKey },
    });
    const { server, url } = await startServer();
    const { logger } = memoryLogger();
    const bridge = await startBridge(broker, url, {
      broker: {
        url: broker.tlsUrl as string,
        username: 'car17',
        password: 's3cret',
        ca: pki.read(pki.caCert),
        reconnectPeriod: 100,
      },
      subscribe: ['/sensors/', '/secret/'],
      logger,
    });
    const cloud = await mqttPeer(broker, ['vehicles/#'], { username: 'cloud', password: 'cl0ud' });
    await until(() => server.isSubscribed('/secret/x') && server.isSubscribed('/sensors/x'));
    server.publish('/secret/key', { param: 'nope' });
    server.publish('/sensors/x', { param: 1 });
    await until(() => cloud.messages.some((m) => m.topic === 'vehicles/car-17/sensors/x'));
    await until(() => bridge.stats().up.rejected + bridge.stats().up.published >= 2);
    expect(bridge.stats().up).toMatchObject({ rejected: 1, published: 1 });
    expect(cloud.messages.some((m) => m.topic.includes('secret'))).toBe(false);
    expect(bridge.queued).toBe(0);
  });

  it('the CLI exits 2 with a clear message on bad credentials', async () => {
    const broker = await startBroker({ users: { car17: 's3cret' }, acl: ACL });
    const { url } = await startServer();
    const result = await vsoa(
      'bridge',
      url,
      '--broker',
      broker.url,
      '--prefix',
      'vehicles/car-17',
      '--sub',
      '/s/',
      '--username',
      'car17',
      '--password-file',
      passwordFile('wrong'),
      '--log-level',
      'silent',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^vsoa bridge: .*refused the credentials/m);
  });

  it('the CLI exits 2 on a TLS mismatch: an unknown CA, or no client certificate where one is required', async () => {
    const broker = await startBroker({
      tls: {
        caCert: pki.caCert,
        serverCert: pki.serverCert,
        serverKey: pki.serverKey,
        requireCertificate: true,
      },
    });
    const { url } = await startServer();
    const common = [url, '--prefix', 'vehicles/car-17', '--sub', '/s/', '--log-level', 'silent'];
    const wrongCa = await vsoa(
      'bridge',
      ...common,
      '--broker',
      broker.tlsUrl as string,
      '--tls-ca',
      pki.otherCaCert,
    );
    expect(wrongCa.code).toBe(2);
    expect(wrongCa.stderr).toMatch(/TLS failed/);
    const noCert = await vsoa(
      'bridge',
      ...common,
      '--broker',
      broker.tlsUrl as string,
      '--tls-ca',
      pki.caCert,
    );
    expect(noCert.code).toBe(2);
    expect(noCert.stderr).toMatch(/TLS failed/);
  });

  it('the CLI refuses bad usage with exit 2', async () => {
    const noBroker = await vsoa('bridge', 'vsoa://127.0.0.1:1', '--prefix', 'v/x', '--sub', '/a');
    expect(noBroker.code).toBe(2);
    expect(noBroker.stderr).toMatch(/--broker/);
    const badPrefix = await vsoa(
      'bridge',
      'vsoa://127.0.0.1:1',
      '--broker',
      'mqtt://127.0.0.1:1',
      '--prefix',
      'v/#',
      '--sub',
      '/a',
    );
    expect(badPrefix.code).toBe(2);
    const rpc311 = await vsoa(
      'bridge',
      'vsoa://127.0.0.1:1',
      '--broker',
      'mqtt://127.0.0.1:1',
      '--prefix',
      'v/x',
      '--sub',
      '/a',
      '--mqtt-version',
      '3.1.1',
      '--down-rpc',
      '/',
    );
    expect(rpc311.code).toBe(2);
    expect(rpc311.stderr).toMatch(/MQTT 5/);
  });
});
