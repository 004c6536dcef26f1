/**
 * Server-side allocation meter for one phase (mark() … report()): garbage collections
 * (count and pause time, from perf_hooks 'gc' entries, forced ones left out), bytes
 * allocated on the V8 heap (from v8.GCProfiler: what each GC found in use beyond what
 * the previous one left), and heap growth.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import type { Json } from './adapter.js';

const forceGc = (globalThis as { gc?: () => void }).gc;

interface GcStat {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export class GcMeter {
  private count = 0;
  private pauseMs = 0;
  private heapAtMark = v8.getHeapStatistics().used_heap_size;
  private profiler: v8.GCProfiler | undefined;

  constructor() {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const flags = (entry as { detail?: { flags?: number } }).detail?.flags ?? 0;
        if (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) continue;
        this.count++;
        this.pauseMs += entry.duration;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }

  /** Starts a measured phase: a forced GC, then counters from zero. */
  async mark(): Promise<void> {
    this.profiler?.stop();
    forceGc?.();
    await sleep(20); // let the observer deliver the forced entry before the reset
    this.count = 0;
    this.pauseMs = 0;
    this.heapAtMark = v8.getHeapStatistics().used_heap_size;
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
  }

  /** GCs since mark(), bytes allocated, heap growth as found and after a forced GC. */
  async report(): Promise<Json> {
    const usedNow = v8.getHeapStatistics().used_heap_size;
    const stats = (this.profiler?.stop()?.statistics ?? []) as GcStat[];
    this.profiler = undefined;
    let allocated = 0;
    let previous = this.heapAtMark;
    for (const s of stats) {
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - previous);
      previous = s.afterGC.heapStatistics.usedHeapSize;
    }
    allocated += Math.max(0, usedNow - previous);
    await sleep(20); // gc entries arrive asynchronously
    const gcCount = this.count;
    const gcMs = this.pauseMs;
    forceGc?.();
    const after = process.memoryUsage();
    return {
      gcCount,
      gcMs,
      allocated,
      heapGrowth: usedNow - this.heapAtMark,
      retainedGrowth: v8.getHeapStatistics().used_heap_size - this.heapAtMark,
      rss: after.rss,
      heapUsed: after.heapUsed,
      external: after.external,
      arrayBuffers: after.arrayBuffers,
      forcedGcAvailable: forceGc !== undefined,
    };
  }
}
