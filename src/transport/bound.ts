import type { EventEmitter } from 'node:events';

/**
 * One way to wait for a listen() or bind(): resolves on its callback, rejects with the first
 * 'error' emitted before it (EADDRINUSE, EACCES), and leaves no listener behind either way.
 */
export function untilBound(target: EventEmitter, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    start(() => {
      target.off('error', reject);
      resolve();
    });
  });
}
