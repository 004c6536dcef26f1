/**
 * The recorder under test, in its own process (so that its CPU time is its own). Driven by
 * bench/record.ts over IPC: {start}, {stats}, {stop}.
 */
import { statSync } from 'node:fs';
import { createRecorder, type Recorder } from '../src/record/index.js';

type Command =
  | { cmd: 'start'; url: string; output: string; compression: 'zstd' | 'lz4' | 'none' }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

let recorder: Recorder | undefined;
const send = (m: unknown): void => {
  process.send?.(m);
};

process.on('message', (m: Command) => {
  void (async () => {
    if (m.cmd === 'start') {
      recorder = createRecorder({
        server: m.url,
        subscribe: ['/'],
        output: m.output,
        compression: m.compression,
        overwrite: true,
        minFreeBytes: 0,
      });
      recorder.once('connect', () => send({ connected: true }));
      await recorder.start();
    } else if (m.cmd === 'stats') {
      send({ stats: recorder?.stats(), cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
    } else if (m.cmd === 'stop') {
      const summary = await recorder?.stop();
      const bytes = summary?.files.reduce((n, f) => n + statSync(f).size, 0) ?? 0;
      send({ summary, bytes, cpu: process.cpuUsage() });
    }
  })();
});
send({ ready: true });
