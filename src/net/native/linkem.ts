/**
 * The native link emulator process (native/: its commands in control.c), driven over its
 * stdin line protocol: every command is answered by "ok" or "error ..."
 * in order; counter lines ("stats ...") arrive in between.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../../util/paths.js';
import { OWN_GROUP } from '../emu/exec.js';

export const LINKEM_BINARY = join(PACKAGE_ROOT, 'native', 'build', 'geobed-linkem');

/** One counter sample of one directed link. */
export interface LinkemCounters {
  atMs: number;
  link: number;
  inBytes: number;
  inPackets: number;
  outBytes: number;
  outPackets: number;
  queueDrops: number;
  lossDrops: number;
  queuedBytes: number;
  queuedPackets: number;
}

export class LinkEmulator {
  private readonly proc: ChildProcess;
  private readonly waiting: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly failures: string[] = [];
  private statsHandler: (c: LinkemCounters) => void = () => undefined;
  private exited: Promise<void>;
  private answers = 0;

  /**
   * How many commands the emulator has answered so far. Read from a stats handler, it places a
   * reading before or after a command: lines come in the order the emulator wrote them, so a
   * reading that arrives after a command's answer was taken after that command took effect.
   */
  get answered(): number {
    return this.answers;
  }

  /** The emulator's process id (its CPU is part of a run's fidelity check). */
  get pid(): number | null {
    return this.proc.pid ?? null;
  }

  static available(): boolean {
    return existsSync(LINKEM_BINARY);
  }

  constructor() {
    if (!LinkEmulator.available()) throw new Error(`the native link emulator is not built (${LINKEM_BINARY}); run npm run build with a C compiler installed`);
    this.proc = spawn(LINKEM_BINARY, [], { stdio: ['pipe', 'pipe', 'inherit'], ...OWN_GROUP });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin!.on('error', () => undefined);
    createInterface({ input: this.proc.stdout! }).on('line', (line) => this.onLine(line));
    this.proc.once('exit', (code, signal) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`the native link emulator exited (${signal ?? `code ${code}`}) before answering "${w.line}"`));
    });
  }

  private onLine(line: string): void {
    if (line.startsWith('stats ')) {
      const f = line.split(' ').slice(1).map(Number);
      this.statsHandler({
        atMs: f[0], link: f[1], inBytes: f[2], inPackets: f[3], outBytes: f[4], outPackets: f[5],
        queueDrops: f[6], lossDrops: f[7], queuedBytes: f[8], queuedPackets: f[9],
      });
      return;
    }
    const w = this.waiting.shift();
    if (!w) return;
    this.answers++;
    if (line === 'ok') w.resolve();
    else {
      const why = line.replace(/^error /, '');
      this.failures.push(`${w.line}: ${why}`);
      w.reject(new Error(`native link emulator: "${w.line}": ${why}`));
    }
  }

  /** Send one command and wait for its answer (rejects on "error ..."). */
  command(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ line, resolve, reject });
      this.proc.stdin!.write(`${line}\n`);
    });
  }

  /** Send a command while running, without waiting; a refusal shows in failures(). */
  send(line: string): void {
    this.command(line).catch(() => undefined);
  }

  /** Commands the emulator refused, with its reasons. */
  refused(): string[] {
    return [...this.failures];
  }

  onStats(handler: (c: LinkemCounters) => void): void {
    this.statsHandler = handler;
  }

  /** Close its stdin (it exits and its TUN devices vanish); kill it if it lingers. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
