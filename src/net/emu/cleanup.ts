/**
 * Teardown on every exit path. Whatever an emulated run creates registers
 * an undo step here; they run (last first) on a normal end, on an error,
 * and on SIGINT / SIGTERM, after which the process dies of that signal.
 */

type Undo = () => Promise<void>;

const steps = new Set<Undo>();
let signalsHooked = false;

function onSignal(signal: NodeJS.Signals): void {
  void runAll().finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  });
}

/** Register an undo step; returns a function that unregisters it. */
export function onTeardown(undo: Undo): () => void {
  if (!signalsHooked) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    signalsHooked = true;
  }
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
