/**
 * glibc malloc settings every benchmark child runs with, every side alike (the raw floor, the
 * official package and ours), unless `BENCH_MALLOC=default`: the library's ALLOCATOR_ENV, which
 * the project's systemd units set and the `vsoa` command applies itself (README, "Memory
 * allocator"). They are in the children's environment, not applied by mallopt, so the official
 * package and the raw floor get them too.
 *
 * Why: a process receiving 256 KiB messages allocates ~0.3 MiB per message (the message and
 * the socket's 64 KiB read buffers), which V8 frees in batches of tens of MiB at each GC.
 * With glibc's defaults the freed top of the heap is handed back to the kernel and re-faulted
 * page by page by the next messages: measured 42–98 minor faults per message in 4 of 11 runs
 * of one subscriber (2–4× the CPU per message), 0.2–1.5 in the others; a quick receiver of
 * 64 KiB datagrams took a third of what it takes with them.
 */
import { ALLOCATOR_ENV } from '../../src/native/allocator.js';

export const MALLOC_ENV: Readonly<Record<string, string>> =
  process.env.BENCH_MALLOC === 'default' ? {} : ALLOCATOR_ENV;

/** One line for the results' header. */
export function describeMalloc(): string {
  const entries = Object.entries(MALLOC_ENV);
  return entries.length === 0
    ? 'glibc malloc defaults (BENCH_MALLOC=default)'
    : `every child with ${entries.map(([k, v]) => `${k}=${v}`).join(' ')} (as the systemd units; BENCH_MALLOC=default for glibc's)`;
}
