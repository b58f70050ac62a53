/**
 * One long-lived `tc -batch -` (or `ip -batch -`) per namespace: live
 * changes are written to its stdin, one line each, instead of starting a
 * process per change.
 */
import { execa, type ResultPromise } from 'execa';
import { OWN_GROUP } from './exec.js';

export class CommandBatch {
  private readonly proc: ResultPromise;
  private stderr = '';
  /** Callers of applied(), oldest first, each waiting for its marker's line. */
  private readonly waiting: (() => void)[] = [];

  constructor(readonly tool: 'tc' | 'ip', readonly namespace: string) {
    this.proc = execa(tool, ['-n', namespace, '-force', '-batch', '-'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, ...OWN_GROUP });
    // a write after the process died (killed, or failed to start) must not crash geobed
    this.proc.stdin?.on('error', () => undefined);
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    // the changes print nothing; each marker (applied()) prints one line
    let pending = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.trim()) this.waiting.shift()?.();
    });
    void this.proc.then(() => {
      for (const resolve of this.waiting.splice(0)) resolve();
    });
  }

  /**
   * tc only: resolves once every command written so far has been carried
   * out (or the process is gone). A marker that prints one line, the
   * loopback's qdisc, follows them through the batch.
   */
  applied(): Promise<void> {
    if (this.tool !== 'tc') throw new Error('CommandBatch.applied: tc batches only');
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.write('qdisc show dev lo');
    });
  }

  /** Queue one command (without the leading tool name). */
  write(command: string): void {
    this.proc.stdin?.write(`${command}\n`);
  }

  /** Errors printed so far, other than htb's quantum warning. */
  errors(): string[] {
    return this.stderr.split('\n').filter((l) => l.trim() && !/quantum of class .* is big/.test(l) && !/^Command failed/.test(l));
  }

  /** End its input and wait for it to exit; kill it if it has not within 2 s (a stopped or hung tc must not hold a teardown). */
  async close(): Promise<void> {
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await this.proc;
    clearTimeout(timer);
  }
}
