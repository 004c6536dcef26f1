import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { JugglerError, JugglerState } from '../../src/juggler/index.js';
import { chromiumPage } from './chromium.js';
import { startJuggler } from './helpers.js';

/*
 * The referee for wire compatibility: hat-open's own JavaScript client (@hat-open/juggler 0.7,
 * the npm package of hat-juggler's src_js) in Chromium, against our server. It needs a DOM
 * (its utilities touch `document` at import), so it is bundled with esbuild at test time and
 * served by the server under test.
 */

async function hatBundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "import * as juggler from '@hat-open/juggler'; window.hatJuggler = juggler;",
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

describe("hat-open's JavaScript juggler client (0.7) against our server", () => {
  it('syncs the state (segmented messages too), gets responses, errors and notifications', async () => {
    const script = await hatBundle();
    const state = new JugglerState({ greeting: 'hello' });
    const { port } = await startJuggler(
      {
        state,
        autoflushDelay: 0,
        routes: [
          {
            path: '/hat.js',
            handler: (_q, s) => void s.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script),
          },
          {
            path: '/index.html',
            handler: (_q, s) =>
              void s.writeHead(200, { 'Content-Type': 'text/html' }).end('<script src="hat.js"></script>'),
          },
        ],
      },
      (conn, name, data) => {
        if (name === 'fail') throw new JugglerError({ reason: data });
        if (name === 'notify-me') conn.notify('note', data);
        return { name, data };
      },
    );
    const { page } = await chromiumPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction('window.hatJuggler !== undefined');
    await page.evaluate(`(async () => {
      const conn = new window.hatJuggler.Connection('ws://127.0.0.1:${port}/ws');
      window.conn = conn;
      window.notes = [];
      conn.addEventListener('notify', (e) => window.notes.push(e.detail));
      await new Promise((resolve) => conn.addEventListener('open', resolve));
    })()`);
    await page.waitForFunction('window.conn.state && window.conn.state.greeting === "hello"');
    const big = 'x'.repeat(150_000);
    state.set(['big'], big);
    state.set(['list'], [1, { two: 2 }]);
    await page.waitForFunction(
      'window.conn.state.big && window.conn.state.big.length === 150000 && window.conn.state.list',
    );
    expect(await page.evaluate('window.conn.state')).toEqual(JSON.parse(JSON.stringify(state.data)));
    expect(await page.evaluate("window.conn.send('hello', [1, 'two'])")).toEqual({
      name: 'hello',
      data: [1, 'two'],
    });
    expect(
      await page.evaluate("window.conn.send('echo', 'y'.repeat(100000)).then((r) => r.data.length)"),
    ).toBe(100_000);
    expect(await page.evaluate("window.conn.send('fail', 7).then(() => 'resolved', (e) => e)")).toEqual({
      reason: 7,
    });
    await page.evaluate("window.conn.send('notify-me', { n: 1 })");
    await page.waitForFunction('window.notes.length === 1');
    expect(await page.evaluate('window.notes')).toEqual([{ name: 'note', data: { n: 1 } }]);
    state.remove(['big']);
    await page.waitForFunction('window.conn.state.big === undefined');
  });
});
