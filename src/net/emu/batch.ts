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

  constructor(readonly tool: 'tc' | 'ip', readonly namespace: string) {
    this.proc = execa(tool, ['-n', namespace, '-force', '-batch', '-'], { stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', reject: false, ...OWN_GROUP });
    // a write after the process died (killed, or failed to start) must not crash geobed
    this.proc.stdin?.on('error', () => undefined);
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
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
