/**
 * glibc malloc settings every benchmark child runs with, every side alike (the raw floor, the
 * official package and ours), unless `BENCH_MALLOC=default`. They are what the project's
 * systemd units set (see README, "Memory allocator").
 *
 * Why: a process receiving 256 KiB messages allocates ~0.3 MiB per message (the message and
 * the socket's 64 KiB read buffers), which V8 frees in batches of tens of MiB at each GC.
 * With glibc's defaults the freed top of the heap is handed back to the kernel and re-faulted
 * page by page by the next messages: measured 42–98 minor faults per message in 4 of 11 runs
 * of one subscriber (2–4× the CPU per message), 0.2–1.5 in the others. A trim threshold above
 * what one GC frees keeps that memory mapped; the peak RSS is the same, only its trough rises.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> =
  process.env.BENCH_MALLOC === 'default'
    ? {}
    : { MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024), MALLOC_TOP_PAD_: String(8 * 1024 * 1024) };

/** One line for the results' header. */
export function describeMalloc(): string {
  const entries = Object.entries(MALLOC_ENV);
  return entries.length === 0
    ? 'glibc malloc defaults (BENCH_MALLOC=default)'
    : `every child with ${entries.map(([k, v]) => `${k}=${v}`).join(' ')} (as the systemd units; BENCH_MALLOC=default for glibc's)`;
}
