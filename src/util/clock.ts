/**
 * Milliseconds on a monotonic clock, for deadlines and elapsed time. Never the wall clock: a
 * board without an RTC steps its clock at its first NTP sync (often by years, while services
 * already run), which would time out every pending call at once or make a robot look stuck.
 * Read through the global so that fake timers in tests move it too.
 */
export function monotonicNow(): number {
  return performance.now();
}
