/**
 * The agent processes of an emulated run: one per node, started inside its
 * namespace (`ip netns exec`), each in a process group of its own (so a
 * Ctrl-C reaches geobed alone), talking over its IPC channel
 * (run/agent-protocol.ts). Killed on every exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { OWN_GROUP } from '../net/emu/exec.js';
import { onTeardown } from '../util/teardown.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import type { FromAgent, ToAgent } from './agent-protocol.js';

const AGENT_PROCESS = join(PACKAGE_ROOT, 'dist', 'src', 'run', 'agent-process.js');

export class AgentProcesses {
  private readonly children = new Map<string, ChildProcess>();
  private readonly unregister: () => void;
  /** Exits from now on are expected (the run has ended). */
  private finished = false;

  /**
   * Start every node's agent. `onMessage` gets what they send; `onFailure`
   * an agent that could not start, or (`exited`) died before the run ended.
   */
  constructor(
    nodes: readonly string[],
    namespaceOf: (node: string) => string,
    onMessage: (node: string, m: FromAgent) => void,
    onFailure: (e: Error, exited: boolean) => void,
  ) {
    this.unregister = onTeardown(() => this.kill());
    for (const node of nodes) {
      const child = spawn('ip', ['netns', 'exec', namespaceOf(node), process.execPath, AGENT_PROCESS], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', ...OWN_GROUP,
      });
      this.children.set(node, child);
      child.on('error', (e) => onFailure(new Error(`the agent of ${node} could not start: ${e.message}`), false));
      child.on('exit', (code, signal) => {
        if (!this.finished) onFailure(new UserError(`the agent of ${node} exited (${signal ?? `code ${code}`}) before the run ended`, 1), true);
      });
      child.on('message', (raw) => onMessage(node, raw as FromAgent));
    }
  }

  /** Send to one agent (dropped if it is gone). */
  sendTo(node: string, m: ToAgent): void {
    const child = this.children.get(node);
    if (child?.connected) child.send(m);
  }

  broadcast(m: ToAgent): void {
    for (const node of this.children.keys()) this.sendTo(node, m);
  }

  pids(): Map<string, number> {
    return new Map([...this.children].map(([n, c]) => [n, c.pid ?? -1]));
  }

  /** The run has ended: ask every agent for its outcome and let it exit (at most 5 s). */
  async finish(): Promise<void> {
    this.finished = true;
    const exits = [...this.children.values()].map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', () => resolve()))));
    this.broadcast({ type: 'finish' });
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** Kill whatever still runs. */
  async kill(): Promise<void> {
    for (const child of this.children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  }

  /** Kill, and stop being part of the teardown. */
  async close(): Promise<void> {
    await this.kill();
    this.unregister();
  }
}
