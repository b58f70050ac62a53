/**
 * A one-line progress bar, drawn only on a terminal and only once a run has
 * taken longer than a couple of seconds.
 */
const SHOW_AFTER_MS = 2000;

function isNotTerminal(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY !== true;
}
const REDRAW_MS = 100;

export class ProgressBar {
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: { isTTY?: boolean; write(text: string): unknown } = process.stdout,
    private readonly clock: () => number = Date.now,
  ) {
    this.started = clock();
  }

  update(label: string, done: number, total: number): void {
    if (isNotTerminal(this.stream)) return;
    const now = this.clock();
    if (now - this.started < SHOW_AFTER_MS || (now - this.lastDraw < REDRAW_MS && done < total)) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const elapsed = (now - this.started) / 1000;
    this.stream.write(`\r${label.padEnd(12)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} iterations  ${elapsed.toFixed(1)} s`);
    this.drawn = true;
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
