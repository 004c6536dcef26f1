import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../util/log.js';

export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` once things settle after `file` changes. The directory is watched, not
 * the file: editors and config tools replace a file (write a temporary one, rename it over),
 * which leaves a watch on the old inode deaf. Events come in bursts (a write is often
 * truncate + write + close), hence the debounce. Returns null, logged, when the directory
 * cannot be watched (the daemon still reloads on SIGHUP).
 */
export function watchFile(
  file: string,
  onChange: () => void,
  log: Logger,
  debounceMs = 100,
): FileWatch | null {
  const name = basename(file);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      // Some platforms give no file name: then any change in the directory counts.
      if (changed !== null && changed !== name) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange();
      }, debounceMs);
      timer.unref();
    });
  } catch (err) {
    log.warn({ err, file }, 'cannot watch the table file; reload with SIGHUP');
    return null;
  }
  watcher.on('error', (err) => {
    log.warn({ err, file }, 'watching the table file failed; reload with SIGHUP');
    watcher.close();
  });
  return {
    close() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      watcher.close();
    },
  };
}
