import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { PositionEntry } from '../../position/entry.js';
import { Position } from '../../position/server.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { moduleLogger } from '../../util/log.js';
import { bindHostArg, intArg } from '../args.js';
import { untilSignal } from '../connect.js';
import { UsageError } from '../errors.js';
import { hostPort } from '../format.js';
import { parseTableText, readTableText } from '../table-file.js';
import { watchFile } from '../watch-file.js';

interface PositionOpts {
  table: string;
  port: number;
  host: string;
  watch: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('position')
    .description(
      'run the position service (name lookup, UDP) from a JSON table; reloads it on SIGHUP and on change',
    )
    .requiredOption('--table <file>', 'JSON array of { name, domain, addr, port, security? }')
    .option('--port <port>', 'UDP port', intArg('--port', 0, 65535), 3000)
    .option('--host <ip>', 'address to bind (an IP address or localhost)', bindHostArg, '0.0.0.0')
    .option('--no-watch', 'reload on SIGHUP only, not when the file changes')
    .option('--json', 'print the listening line as JSON')
    .action(async (opts: PositionOpts) => {
      const file = resolve(opts.table);
      const log = moduleLogger('position-daemon');
      let text: string;
      let entries: PositionEntry[];
      try {
        text = readTableText(file);
        entries = parseTableText(text, file);
      } catch (err) {
        throw new UsageError(`--table ${(err as Error).message}`);
      }

      const position = new Position(null, { table: entries });
      const watchdog = new Watchdog();
      watchdog.start();
      await position.listen(opts.port, opts.host);
      const bound = position.address()!;
      const where = hostPort(bound.address, bound.port);
      let count = entries.length;
      let reloadError: string | null = null;
      const statusText = (): string =>
        `serving ${count} entries on ${where}${reloadError ? ` (reload failed, old table kept: ${reloadError})` : ''}`;
      watchdog.addCheck('socket', () => position.address() !== null || 'position socket closed');
      watchdog.ready();
      watchdog.status(statusText());

      /** `newText` is the file as just read (a change event); undefined: read it now (SIGHUP). */
      const reload = (trigger: string, newText?: string): void => {
        watchdog.reloading();
        try {
          const t = newText ?? readTableText(file);
          text = t;
          const next = parseTableText(t, file);
          position.setTable(next);
          count = next.length;
          reloadError = null;
          log.info({ trigger, entries: count, file }, 'table reloaded');
        } catch (err) {
          reloadError = (err as Error).message;
          log.error({ trigger, file, reason: reloadError }, 'table reload failed; keeping the old table');
        }
        watchdog.status(statusText());
        watchdog.ready();
      };

      const onHup = (): void => reload('SIGHUP');
      process.on('SIGHUP', onHup);
      // Change events also come for writes that leave the text as it was (touch, a save
      // without edits): reload only when it differs, so the logs show real reloads.
      const watcher = opts.watch
        ? watchFile(
            file,
            () => {
              let t: string;
              try {
                t = readTableText(file);
              } catch (err) {
                log.warn(
                  { file, reason: (err as Error).message },
                  'table file not readable; keeping the table',
                );
                return;
              }
              if (t !== text) reload('file change', t);
            },
            log,
          )
        : null;

      const line = opts.json
        ? JSON.stringify({
            listening: { addr: bound.address, port: bound.port },
            entries: count,
            table: file,
          })
        : `position service listening on ${where} (UDP), ${count} entries from ${file}`;
      process.stdout.write(`${line}\n`);

      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      watchdog.stopping();
      process.off('SIGHUP', onHup);
      watcher?.close();
      await position.close();
      watchdog.stop();
    });
}
