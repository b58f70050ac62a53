/**
 * SimGrid as an external oracle for geobed's flow-level simulator: the
 * messages of a simulated run (their time on the wire, SimNetwork.wireLog)
 * replayed through SimGrid's pure max-min model by simgrid_replay.py, which
 * says when each message's last byte left there. Debian's python3-simgrid
 * (3.32 on Debian 12) provides it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mbpsToBytesPerSec } from '../../src/util/format.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import type { Trace } from '../../src/model/trace.js';
import type { WireRecord } from '../../src/net/sim/network.js';

/** Debian's own Python: python3-simgrid installs for it, not for a python3 that pyenv or a venv puts first on PATH. */
const PYTHON = '/usr/bin/python3';
const REPLAY = join(PACKAGE_ROOT, 'bench', 'tools', 'simgrid_replay.py');

/** SimGrid's version, or null when its Python bindings are not installed. */
export function simgridVersion(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import simgrid; print(simgrid.simgrid_version)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface SimgridReplay {
  /** Per message, when its last byte left in SimGrid. */
  ends: number[];
  /** SimGrid's wall time for the simulation (engine.run), seconds. */
  wallS: number;
}

/**
 * Replay `records` over links with these capacity traces, until `horizon`
 * (the traces' changes after it are left out). SimGrid takes whole bytes:
 * sizes and bandwidths are both multiplied by `scale` (times do not change
 * when both are), chosen so every size is a whole number, e.g. 724 for
 * geobed's TCP framing (payload x 1514 / 1448 = payload x 757 / 724).
 */
export function replayInSimgrid(nodeCount: number, traces: Trace[], records: WireRecord[], horizon: number, scale = 1): SimgridReplay {
  const links = traces.map((trace) => {
    const bandwidth: [number, number][] = [];
    for (let t = 0; t <= horizon; t = trace.nextChangeAfter(t)) bandwidth.push([t, mbpsToBytesPerSec(trace.rateAt(t)) * scale]);
    return { bandwidth };
  });
  const messages = records.map((r, i) => {
    const size = r.wireBytes * scale;
    if (Math.abs(size - Math.round(size)) > 1e-6 * Math.max(1, size)) {
      throw new Error(`replayInSimgrid: message ${i} has ${r.wireBytes} bytes on the wire, not whole bytes when multiplied by ${scale}`);
    }
    return { from: r.from, to: r.to, route: r.route, size: Math.round(size), start: r.start };
  });
  const dir = mkdtempSync(join(tmpdir(), 'geobed-simgrid-'));
  try {
    writeFileSync(join(dir, 'case.json'), JSON.stringify({ nodes: nodeCount, links, messages }));
    execFileSync(PYTHON, [REPLAY, join(dir, 'case.json'), join(dir, 'ends.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    return JSON.parse(readFileSync(join(dir, 'ends.json'), 'utf8')) as SimgridReplay;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The largest relative difference between geobed's and SimGrid's last-byte times. */
export function largestRelativeDifference(records: WireRecord[], ends: number[]): { relative: number; message: number } {
  let worst = { relative: 0, message: -1 };
  records.forEach((r, i) => {
    const relative = Math.abs(ends[i] - r.end) / Math.max(r.end, 1e-12);
    if (!(relative <= worst.relative)) worst = { relative, message: i };
  });
  return worst;
}
