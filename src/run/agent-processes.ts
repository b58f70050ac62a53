/**
 * The agent processes of an emulated run: one per node, started inside its
 * namespace (`ip netns exec`), each in a process group of its own (so a
 * Ctrl-C reaches geobed alone). They talk to the runner over their Node IPC
 * channels, or over TCP on the run's management network (a server on the
 * host's address there; each agent's first message names its node); the
 * messages are the same (run/agent-protocol.ts). Killed on every exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { OWN_GROUP } from '../net/emu/exec.js';
import { onTeardown } from '../util/teardown.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { MessageStream } from '../util/message-stream.js';
import type { FromAgent, ToAgent } from './agent-protocol.js';

const AGENT_PROCESS = join(PACKAGE_ROOT, 'dist', 'src', 'run', 'agent-process.js');
/** How long agents may take to connect over TCP (each loads Node, and tfjs when it trains). */
const CONNECT_S = 60;

/** Where the agents' control channel runs: IPC, or TCP to this address of the host. */
export type AgentChannels = { kind: 'ipc' } | { kind: 'tcp'; host: string };

interface Channel {
  send(m: ToAgent): void;
}

export class AgentProcesses {
  private readonly children = new Map<string, ChildProcess>();
  private readonly channels = new Map<string, Channel>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private allConnected: (() => void) | null = null;
  private failConnecting: ((e: Error) => void) | null = null;
  private readonly unregister: () => void;
  /** Exits from now on are expected (the run has ended). */
  private finished = false;

  /**
   * `onMessage` gets what the agents send; `onFailure` an agent that could
   * not start, or (`exited`) died before the run ended.
   */
  constructor(
    private readonly nodes: readonly string[],
    private readonly namespaceOf: (node: string) => string,
    private readonly onMessage: (node: string, m: FromAgent) => void,
    private readonly onFailure: (e: Error, exited: boolean) => void,
    private readonly via: AgentChannels = { kind: 'ipc' },
  ) {
    this.unregister = onTeardown(() => this.kill());
  }

  /** Start every node's agent; resolves when each one's channel is open. */
  async start(): Promise<void> {
    if (this.via.kind === 'ipc') {
      for (const node of this.nodes) this.channels.set(node, this.spawn(node, []));
      return;
    }
    const host = this.via.host;
    const connected = this.listen(host);
    const port = await new Promise<number>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host, port: 0 }, () => resolve((this.server!.address() as { port: number }).port));
    });
    for (const node of this.nodes) this.spawn(node, ['--tcp', `${host}:${port}`, node]);
    await connected;
  }

  private spawn(node: string, args: string[]): Channel {
    const ipc = this.via.kind === 'ipc';
    const child = spawn('ip', ['netns', 'exec', this.namespaceOf(node), process.execPath, AGENT_PROCESS, ...args], {
      stdio: ['ignore', 'inherit', 'inherit', ...(ipc ? ['ipc' as const] : [])], serialization: 'advanced', ...OWN_GROUP,
    });
    this.children.set(node, child);
    child.on('error', (e) => this.failed(node, new Error(`the agent of ${node} could not start: ${e.message}`), false));
    child.on('exit', (code, signal) => {
      if (!this.finished) this.failed(node, new UserError(`the agent of ${node} exited (${signal ?? `code ${code}`}) before the run ended`, 1), true);
    });
    if (ipc) child.on('message', (raw) => this.onMessage(node, raw as FromAgent));
    return { send: (m) => void (child.connected && child.send(m)) };
  }

  private failed(node: string, e: Error, exited: boolean): void {
    if (!this.channels.has(node)) this.failConnecting?.(e);
    this.onFailure(e, exited);
  }

  /** The TCP server: resolves when every node's agent has said hello, rejects after CONNECT_S. */
  private listen(host: string): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let node: string | null = null;
      const stream = new MessageStream<FromAgent, ToAgent>(socket, (m) => {
        if (node !== null) return this.onMessage(node, m);
        // the first message names the agent's node, one that has no channel yet
        if (m.type !== 'hello' || !this.nodes.includes(m.node) || this.channels.has(m.node)) return socket.destroy();
        node = m.node;
        this.channels.set(node, stream);
        if (this.channels.size === this.nodes.length) this.allConnected?.();
      }, (e) => this.onFailure(new Error(`the control channel of ${node ?? 'an agent'}: ${e.message}`), false));
      socket.on('error', () => undefined); // (a dead agent is reported by its exit)
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const missing = this.nodes.filter((n) => !this.channels.has(n));
        reject(new UserError(`the agents of ${missing.join(', ')} did not connect to the control channel on ${host} within ${CONNECT_S} s`, 1));
      }, CONNECT_S * 1000);
      this.allConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      this.failConnecting = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
  }

  /** Send to one agent (dropped if it is gone). */
  sendTo(node: string, m: ToAgent): void {
    this.channels.get(node)?.send(m);
  }

  broadcast(m: ToAgent): void {
    for (const node of this.channels.keys()) this.sendTo(node, m);
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
    this.server?.close();
    for (const socket of this.sockets) socket.destroy();
  }

  /** Kill, and stop being part of the teardown. */
  async close(): Promise<void> {
    await this.kill();
    this.unregister();
  }
}
