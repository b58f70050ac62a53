/**
 * The geobed command line: each group of commands in a module of its own
 * (run-commands, scenario-commands with trace-commands, host-commands,
 * decompose-command, sweep-command, report-commands).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { packageVersion } from '../util/paths.js';
import { followParentUnderNpmExec } from '../util/teardown.js';
import { runCommands } from './run-commands.js';
import { scenarioCommands } from './scenario-commands.js';
import { hostCommands } from './host-commands.js';
import { decomposeCommand } from './decompose-command.js';
import { sweepCommand } from './sweep-command.js';
import { reportCommands } from './report-commands.js';

export function main(argv: string[]): void {
  const command = ['geobed', ...argv];
  const y = yargs(argv).scriptName('geobed').strict();
  reportCommands(sweepCommand(decomposeCommand(hostCommands(scenarioCommands(runCommands(y, command))))))
    .demandCommand(1, 'name a command (try: geobed demo)')
    .fail((msg, err) => {
      if (err) throw err;
      const known = ['run', 'validate', 'demo', 'trace', 'schema', 'doctor', 'clean', 'summarize', 'rerun', 'decompose', 'sweep', 'compare', 'plot', 'report'];
      const usage = known.includes(argv[0]) ? `geobed ${argv[0]} --help` : 'geobed --help';
      process.stderr.write(`geobed: ${msg}\nRun "${usage}" for usage.\n`);
      process.exit(2);
    })
    .help()
    // as wide as the terminal (at most 100), so help never wraps mid-word
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .version(packageVersion())
    .parseAsync();
}

// Output piped into a reader that closed early (geobed ... | head): stop printing, but let a run finish and clean up.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
});
followParentUnderNpmExec();
main(hideBin(process.argv));
