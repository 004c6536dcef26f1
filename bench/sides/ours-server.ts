/** Server child for our library (src/). */
import { Server } from '../../src/server/server.js';
import { jsonParam, type ServerAdapter } from '../lib/adapter.js';
import { serve } from '../lib/server-main.js';

const server = new Server({ info: 'bench' });

const adapter: ServerAdapter = {
  async listen() {
    await server.listen(0, '127.0.0.1');
    return server.address().port;
  },
  echo(url) {
    server.command(url, (cli, request, payload) => cli.reply(request.seqno, payload));
  },
  command(url, handler) {
    server.command(url, async (cli, request, payload) => {
      cli.reply(request.seqno, { param: await handler(jsonParam(payload.param)) });
    });
  },
  ondata(handler) {
    server.ondata = (_cli, url, payload) => handler(url, jsonParam(payload.param));
  },
  publish(url, data, quick) {
    server.publish(url, { data }, quick);
  },
  count: () => server.count(),
  close: () => server.close(),
};

await serve(adapter);
