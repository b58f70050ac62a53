/**
 * Run a sweep's points: each as its own `geobed run` process (a run's
 * failure or crash stays its own), its output in logs/<id>.log, up to
 * `jobs` at a time. Points already done are skipped; a half-written run is
 * removed and redone. A stop request (Ctrl-C) is passed to every run in
 * flight, which keeps what it finished and winds down (an emulated run
 * tears its network down); the sweep then reports what is done.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/paths.js';
import { handleStops, stopSignal } from '../util/teardown.js';
import { runArguments, type SweepPoint } from './grid.js';
import { clearPoint, logFile, pointState, runDir, type SweepPlan } from './folder.js';

const GEOBED = join(PACKAGE_ROOT, 'bin', 'geobed.js');
/** How a run stopped by a signal exits (128 + SIGHUP, SIGINT, SIGTERM). */
const STOPPED_EXITS = new Set(['129', '130', '143']);

export interface Progress {
  done: number;
  total: number;
  running: number;
  failed: number;
  /** Seconds left at the pace of the runs finished so far (null until one has). */
  leftS: number | null;
}

export interface ExecuteOutcome {
  /** Points that were already done (skipped). */
  skipped: number;
  ran: number;
  failed: { point: SweepPoint; exit: string; log: string }[];
  stopped: boolean;
}

/** One `geobed run`; resolves to its exit ("0", "1", "SIGKILL", ...). */
function runPoint(folder: string, plan: SweepPlan, point: SweepPoint, started: (pid: number) => void): Promise<string> {
  const log = openSync(logFile(folder, point), 'w');
  // its own process group: a Ctrl-C reaches the sweep, which passes it on and waits
  const child = spawn(process.execPath, [GEOBED, ...runArguments(plan.sweep, point, runDir(folder, point))], { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  if (child.pid) started(child.pid);
  return new Promise((resolve) => {
    child.on('error', (e) => resolve(`could not start (${e.message})`));
    child.on('exit', (code, signal) => resolve(signal ?? String(code)));
  });
}

/**
 * Run the given points (those of a Slurm task, or all) with up to `jobs` in
 * flight; `onProgress` after each start and end.
 */
export async function executePoints(folder: string, plan: SweepPlan, points: SweepPoint[], jobs: number, onProgress: (p: Progress) => void): Promise<ExecuteOutcome> {
  const todo: SweepPoint[] = [];
  let skipped = 0;
  for (const point of points) {
    const state = pointState(folder, point);
    if (state === 'done') skipped++;
    else {
      if (state === 'partial') clearPoint(folder, point);
      todo.push(point);
    }
  }
  const outcome: ExecuteOutcome = { skipped, ran: 0, failed: [], stopped: false };
  const running = new Map<SweepPoint, number>();
  const t0 = Date.now();
  let finished = 0;
  const report = () => {
    // wall seconds per finished run, with `jobs` of them in flight
    const pace = finished > 0 ? (Date.now() - t0) / 1000 / finished : null;
    onProgress({
      done: skipped + finished - outcome.failed.length, total: points.length, running: running.size, failed: outcome.failed.length,
      leftS: pace === null ? null : pace * (todo.length - finished),
    });
  };
  const release = handleStops();
  const stop = () => {
    outcome.stopped = true;
    for (const pid of running.values()) {
      try {
        process.kill(-pid, 'SIGINT');
      } catch {
        // (already gone)
      }
    }
  };
  stopSignal.addEventListener('abort', stop);
  try {
    let next = 0;
    report();
    await new Promise<void>((resolveAll) => {
      const launch = () => {
        while (!outcome.stopped && running.size < jobs && next < todo.length) {
          const point = todo[next++];
          running.set(point, 0);
          void runPoint(folder, plan, point, (pid) => running.set(point, pid)).then((exit) => {
            running.delete(point);
            finished++;
            outcome.ran++;
            if (exit !== '0') outcome.failed.push({ point, exit, log: logFile(folder, point) });
            launch();
            report();
          });
        }
        if (running.size === 0 && (outcome.stopped || next >= todo.length)) resolveAll();
      };
      launch();
    });
  } finally {
    stopSignal.removeEventListener('abort', stop);
    release();
  }
  // a run the stop ended is redone next time, not failed
  if (outcome.stopped) outcome.failed = outcome.failed.filter((f) => !STOPPED_EXITS.has(f.exit));
  return outcome;
}
