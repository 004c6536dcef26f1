import { loadNative } from './addon.js';

/**
 * glibc malloc settings for a process that moves large messages (README, "Memory allocator").
 * V8 frees message buffers in batches of tens of MiB at a GC; with glibc's defaults the freed
 * heap top goes back to the kernel and the next messages fault it in again page by page (42–98
 * faults per 256 KiB message measured in a subscriber, and a quick receiver at a third of its
 * rate). A trim threshold above one GC's worth keeps that memory mapped; fixing the mmap
 * threshold (setting the trim threshold disables glibc's dynamic one) keeps 256 KiB buffers on
 * the heap rather than a fresh mmap, 64 page faults, each.
 */
export const ALLOCATOR_TUNING = {
  trimThreshold: 64 * 1024 * 1024,
  topPad: 8 * 1024 * 1024,
  mmapThreshold: 4 * 1024 * 1024,
} as const;

/** The same settings as glibc reads them from the environment (systemd units, bench children). */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(ALLOCATOR_TUNING.trimThreshold),
  MALLOC_TOP_PAD_: String(ALLOCATOR_TUNING.topPad),
  MALLOC_MMAP_THRESHOLD_: String(ALLOCATOR_TUNING.mmapThreshold),
};

export interface AllocatorTuning {
  applied: boolean;
  /** Why not, when not applied. */
  reason?: string;
}

/**
 * Applies ALLOCATOR_TUNING to this process through glibc's mallopt (the native addon): for a
 * process whose environment could not carry ALLOCATOR_ENV before it started. Opt-in for an
 * application; the `vsoa` command applies it at start. Leaves the allocator alone when any of
 * the three variables is set (the environment's choice wins), off glibc, or without the addon.
 */
export function tuneAllocator(): AllocatorTuning {
  const preset = Object.keys(ALLOCATOR_ENV).filter((name) => process.env[name] !== undefined);
  if (preset.length > 0) return { applied: false, reason: `set by the environment (${preset.join(', ')})` };
  if (process.platform !== 'linux') return { applied: false, reason: `not Linux (${process.platform})` };
  const addon = loadNative();
  if (!addon) return { applied: false, reason: 'native addon not loaded' };
  if (typeof addon.tuneMalloc !== 'function')
    return { applied: false, reason: 'native addon without tuneMalloc' };
  const { trimThreshold, topPad, mmapThreshold } = ALLOCATOR_TUNING;
  return addon.tuneMalloc(trimThreshold, topPad, mmapThreshold)
    ? { applied: true }
    : { applied: false, reason: 'the C library is not glibc' };
}
