/**
 * A one-line progress bar on stderr, redrawn ten times a second, only when stderr is a
 * terminal: under journald, CI or a pipe nothing is written, so logs stay clean.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private label = '';
  private fraction: () => number = () => 0;
  private readonly enabled: boolean;
  private total = 0;
  private step = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true;
  }

  /** How many passes are coming: each begin() with `counted` shows `(n/total)` before its label. */
  steps(total: number): void {
    this.total = total;
    this.step = 0;
  }

  /** Shows `label` with a bar filled to `fraction()` (0..1) until the next begin() or end(). */
  begin(label: string, fraction: () => number, counted = true): void {
    if (counted && this.step < this.total) this.step++;
    if (!this.enabled) return;
    this.label = counted && this.total > 0 ? `(${this.step}/${this.total}) ${label}` : label;
    this.fraction = fraction;
    this.draw();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  /** Clears the line (once: calling it again does nothing). */
  end(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    const columns = this.stream.columns || 80;
    const f = Math.min(Math.max(this.fraction(), 0), 1);
    const percent = `${Math.floor(f * 100)}`.padStart(3);
    const width = Math.max(10, Math.min(40, columns - this.label.length - 10));
    const filled = Math.round(f * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}%`;
    this.stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
  }
}
