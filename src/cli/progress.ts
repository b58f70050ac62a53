/**
 * Progress of a run, once it has taken longer than a couple of seconds: on
 * a terminal a one-line bar; otherwise (output to a file, a pipe, a batch
 * job's log) a line on stderr when a scheduler starts and ends, and at its
 * tenths at most every five seconds.
 */
const SHOW_AFTER_MS = 2000;
const REDRAW_MS = 100;
const LINE_EVERY_MS = 5000;

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressBar {
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;
  private lastLine = -Infinity;
  /** Per scheduler: the last tenth reported as a line. */
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly stream: Stream = process.stdout,
    private readonly clock: () => number = Date.now,
    /** Where the lines go when `stream` is not a terminal. */
    private readonly lines: Stream = process.stderr,
  ) {
    this.started = clock();
  }

  /** `unit`: what is counted; `note`: said after the count (a sweep's runs in flight and time left). */
  update(label: string, done: number, total: number, unit = 'iterations', note = ''): void {
    const now = this.clock();
    if (now - this.started < SHOW_AFTER_MS) return;
    const elapsed = ((now - this.started) / 1000).toFixed(1);
    if (this.stream.isTTY !== true) {
      // a line when a scheduler starts and ends, and at a new tenth of it at most every LINE_EVERY_MS
      const tenth = Math.floor((done / total) * 10);
      const last = this.reported.get(label) ?? -1;
      const milestone = done === 0 || done === total || (tenth > last && now - this.lastLine >= LINE_EVERY_MS);
      if (tenth <= last || !milestone) return;
      this.reported.set(label, tenth);
      this.lastLine = now;
      this.lines.write(`geobed: ${label}: ${done}/${total} ${unit} (${Math.floor((100 * done) / total)}%), ${elapsed} s${note ? `, ${note}` : ''}\n`);
      return;
    }
    if (now - this.lastDraw < REDRAW_MS && done < total) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    this.stream.write(`\r\x1b[2K${label.padEnd(12)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${unit}  ${elapsed} s${note ? `  ${note}` : ''}`);
    this.drawn = true;
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
