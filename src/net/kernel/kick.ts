/**
 * The nudge that restarts a link after an outage (see shaping.ts): one
 * long-lived bash per namespace sends a one-byte UDP datagram to each
 * address written to it (bash's /dev/udp, no process per datagram). The
 * link's filter sends the datagram to the loopback, where it is dropped;
 * its enqueue is what runs the link's qdisc again.
 */
import { execa, type ResultPromise } from 'execa';
import { OWN_GROUP } from '../emu/exec.js';
import { KICK_PORT } from './shaping.js';

export class Kicker {
  private readonly proc: ResultPromise;

  constructor(namespace: string) {
    const loop = `while read -r address; do echo > /dev/udp/$address/${KICK_PORT} || true; done`;
    this.proc = execa('ip', ['netns', 'exec', namespace, 'bash', '-c', loop], { stdin: 'pipe', stdout: 'ignore', stderr: 'ignore', reject: false, ...OWN_GROUP });
    this.proc.stdin?.on('error', () => undefined); // (gone: a teardown is under way)
  }

  /** Nudge the link whose far end has this (link) address. */
  kick(peer: string): void {
    this.proc.stdin?.write(`${peer}\n`);
  }

  /** End its input and wait for it to exit (killed after 2 s). */
  async close(): Promise<void> {
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await this.proc;
    clearTimeout(timer);
  }
}
