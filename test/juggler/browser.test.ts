import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Server } from '../../src/index.js';
import { createGateway } from '../../src/juggler/index.js';
import { repoRoot } from '../helpers/cli.js';
import { onCleanup } from '../helpers/net.js';
import { chromiumPage } from './chromium.js';

/*
 * End to end in a real browser: Debian's chromium (installed by .ci/setup.sh) driven by
 * playwright-core opens the gateway's built-in dashboard, sees published values appear and
 * change, calls an RPC from the console and reads its reply. The screenshot goes to
 * test-results/gateway-dashboard.png.
 */

describe('the dashboard in Chromium', () => {
  it('shows published values as they change, plots them, and calls an RPC from the console', async () => {
    const vsoa = new Server({ info: { name: 'dashboard-demo' } });
    vsoa.command('/config', (cli, req, payload) =>
      cli.reply(req.seqno, {
        param: { method: req.method === 1 ? 'SET' : 'GET', got: payload.param ?? null },
      }),
    );
    await vsoa.listen(0, '127.0.0.1');
    onCleanup(() => vsoa.close());
    const gateway = await createGateway({ server: `vsoa://127.0.0.1:${vsoa.address().port}`, port: 0 });
    onCleanup(() => gateway.close());

    const { page } = await chromiumPage();
    await page.goto(gateway.url);
    await page.locator('#vsoa', { hasText: 'VSOA: connected' }).waitFor({ timeout: 15_000 });

    let speed = 40;
    const timer = setInterval(() => {
      speed += 1;
      vsoa.publish('/vehicle/speed', { param: { kmh: speed, rpm: speed * 50 } });
      vsoa.publish('/vehicle/gear', { param: speed % 2 === 0 ? 'D' : 'N' });
    }, 100);
    onCleanup(() => clearInterval(timer));
    const value = page.locator('#topics tr[data-url="/vehicle/speed"] td.value');
    await value.waitFor({ timeout: 10_000 });
    const first = await value.textContent();
    expect(first).toMatch(/"kmh":\d+/);
    await page.waitForFunction(
      `document.querySelector('#topics tr[data-url="/vehicle/speed"] td.value')?.textContent !== ${JSON.stringify(first)}`,
      undefined,
      { timeout: 10_000 },
    );
    await page
      .locator('#topics tr[data-url="/vehicle/speed"] td.rate', { hasText: '/s' })
      .waitFor({ timeout: 10_000 });
    await page.locator('#plot canvas').waitFor({ timeout: 10_000 });

    await page.selectOption('#rpc-method', 'SET');
    await page.fill('#rpc-url', '/config');
    await page.fill('#rpc-param', '{"limit": 90}');
    await page.click('#rpc-call');
    await page.locator('#rpc-status', { hasText: 'SUCCESS' }).waitFor({ timeout: 10_000 });
    expect(JSON.parse((await page.textContent('#rpc-reply')) ?? 'null')).toEqual({
      param: { method: 'SET', got: { limit: 90 } },
    });

    mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-results', 'gateway-dashboard.png') });

    await page.fill('#rpc-url', '/missing');
    await page.click('#rpc-call');
    await page.locator('#rpc-status', { hasText: 'INVALID_URL' }).waitFor({ timeout: 10_000 });
  });
});
