/** What every command shares: user mistakes as one clear message and an exit code; comma lists. */
import { UserError } from '../util/errors.js';

type Handler<A> = (args: A) => void | Promise<void>;

/** Run a command handler; user mistakes print one clear message and exit non-zero. */
export function guarded<A>(handler: Handler<A>): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await handler(args);
    } catch (e) {
      if (e instanceof UserError) {
        process.stderr.write(e.message.split('\n').map((line) => `geobed: ${line}\n`).join(''));
        process.exit(e.exitCode);
      }
      throw e;
    }
  };
}

export function list(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}
