/**
 * Teardown on every exit path, and what SIGINT / SIGTERM do.
 *
 * Whatever an emulated run creates registers an undo step here; the steps
 * run (last first) on a normal end, on an error, and on a signal.
 *
 * A signal first asks the running work to stop (`stopSignal`): a run that
 * listens finishes its results and tears down through its own finally
 * blocks, and the command exits with 128 + the signal's number. When
 * nothing listens, or the work has not wound down within
 * STOP_GRACE_MS, the undo steps run here and the process exits. A
 * second (third...) Ctrl-C while this happens only says so: leaving the
 * teardown half done would leave namespaces behind.
 */

type Undo = () => Promise<void>;

const steps = new Set<Undo>();
let signalsHooked = false;
let stopping: NodeJS.Signals | null = null;
const controller = new AbortController();

/** How long a run may take to wind down after a signal before teardown is forced. */
export const STOP_GRACE_MS = 20_000;

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/** Aborted (with a StopRequest) by the first SIGINT, SIGTERM or SIGHUP. */
export const stopSignal: AbortSignal = controller.signal;

/** The reason stopSignal carries: the signal that asked to stop. */
export class StopRequest extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
    this.name = 'StopRequest';
  }

  get exitCode(): number {
    return 128 + (SIGNAL_NUMBERS[this.signal] ?? 0);
  }
}

/** Listeners that wind the current work down themselves (a run). */
let stopListeners = 0;

/**
 * Say that the current work handles stopSignal itself; returns a function
 * to call when it no longer does.
 */
export function handleStops(): () => void {
  hookSignals();
  stopListeners++;
  let done = false;
  return () => {
    if (!done) stopListeners--;
    done = true;
  };
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    process.stderr.write(`\ngeobed: still stopping (${stopping}): removing what the run created; this takes a few seconds\n`);
    return;
  }
  stopping = signal;
  controller.abort(new StopRequest(signal));
  if (stopListeners > 0) {
    // the run winds down itself; force the teardown only if it does not
    setTimeout(() => void forceExit(signal), STOP_GRACE_MS).unref();
    return;
  }
  void forceExit(signal);
}

async function forceExit(signal: NodeJS.Signals): Promise<void> {
  await runAll();
  process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
}

function hookSignals(): void {
  if (signalsHooked) return;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the terminal closed
  signalsHooked = true;
}

/**
 * Under `npx geobed` (npm exec), a signal sent to npx ends npx and the
 * shell it started geobed from, never geobed (npm 11 forwards it to the
 * shell only), which would run on as an orphan holding its namespaces. So
 * geobed started by npm exec stops as if by SIGTERM when its parent goes:
 * `timeout`, `kill <npx's pid>` and a batch system's signal end the run
 * cleanly either way. (`geobed` from `npm link`, or bin/geobed.js, gets
 * the signals itself.)
 */
export function followParentUnderNpmExec(pollMs = 250): void {
  if (process.env.npm_command !== 'exec') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write('\ngeobed: npx, which started it, has ended: stopping as if by SIGTERM\n');
    hookSignals();
    onSignal('SIGTERM');
  }, pollMs);
  timer.unref();
}

/** Register an undo step; returns a function that unregisters it. */
export function onTeardown(undo: Undo): () => void {
  hookSignals();
  steps.add(undo);
  return () => {
    steps.delete(undo);
  };
}

/** Run every registered undo step, last registered first; errors are collected, not thrown early. */
export async function runAll(): Promise<Error[]> {
  const errors: Error[] = [];
  for (const undo of [...steps].reverse()) {
    steps.delete(undo);
    try {
      await undo();
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return errors;
}
