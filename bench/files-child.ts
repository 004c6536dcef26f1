/**
 * One side of the file-transfer benchmark, as its own process (so CPU time is its own):
 *   raw-server FILE | raw-get PORT DEST | raw-put PORT SRC    a plain TCP copy (the floor)
 *   vsoa-server ROOT | vsoa-get URL DEST | vsoa-put URL SRC   serveFiles / getFile / putFile
 * Servers print their port, then their CPU time when stopped (SIGTERM); clients print
 * { ms, cpuUs } when done.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { getFile, putFile, serveFiles } from '../src/files/index.js';
import { Client, ConnectCode, Server } from '../src/index.js';

const [mode, a, b] = process.argv.slice(2) as [string, string, string];
// CPU time of the transfer only: module loading (tsx) is not the library's.
let cpuStart = { user: 0, system: 0 };
const cpuUs = (): number => {
  const u = process.cpuUsage(cpuStart);
  return u.user + u.system;
};
const report = (obj: object): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};
const onStop = (close: () => void): void => {
  process.on('SIGTERM', () => {
    report({ cpuUs: cpuUs() });
    close();
    process.exit(0);
  });
};

async function main(): Promise<void> {
  cpuStart = process.cpuUsage();
  const started = performance.now();
  switch (mode) {
    case 'raw-server': {
      // GET: the client sends 'G' and reads the file; PUT: it sends 'P' then the bytes.
      const server = net.createServer((socket) => {
        socket.on('error', () => {}); // the peer may reset once it has what it wanted
        socket.once('data', (first: Buffer) => {
          if (first[0] === 0x47) void pipeline(createReadStream(a), socket).catch(() => {});
          else {
            const out = createWriteStream(`${a}.put`);
            if (first.length > 1) out.write(first.subarray(1));
            void pipeline(socket, out).catch(() => {});
          }
        });
      });
      server.listen(0, '127.0.0.1', () => report({ port: (server.address() as net.AddressInfo).port }));
      onStop(() => server.close());
      return;
    }
    case 'raw-get':
    case 'raw-put': {
      const socket = net.connect(Number(a), '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      if (mode === 'raw-get') {
        socket.write('G');
        await pipeline(socket, createWriteStream(b));
      } else {
        socket.write('P');
        await pipeline(createReadStream(b), socket);
      }
      break;
    }
    case 'vsoa-server': {
      const server = new Server();
      serveFiles(server, '/files', a, { writable: true, maxFileSize: 2 ** 40 });
      await server.listen(0, '127.0.0.1');
      report({ port: server.address().port });
      onStop(() => void server.close());
      return;
    }
    case 'vsoa-get':
    case 'vsoa-put': {
      const client = new Client();
      if ((await client.connect(a)) !== ConnectCode.OK) throw new Error('connect failed');
      if (mode === 'vsoa-get') await getFile(client, '/files/payload.bin', b, { resume: false });
      else await putFile(client, b, '/files/uploaded.bin');
      client.close();
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  report({ ms: performance.now() - started, cpuUs: cpuUs() });
}

await main();
