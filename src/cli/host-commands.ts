/** `geobed doctor` and `clean`: what this host can do; leftovers of emulated runs. */
import type { Argv } from 'yargs';
import { UserError } from '../util/errors.js';
import { formatTable } from './table.js';
import { probeHost } from '../run/link-backends.js';
import { describeGroup, removeLeftovers } from '../net/emu/leftovers.js';
import { guarded } from './common.js';

/** doctor, clean */
export function hostCommands(y: Argv): Argv {
  return y
    .command(
      'doctor',
      'report what this host can do: root, iproute2, qdiscs, TUN, CPUs, and which modes work',
      (c) => c.option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
      async (a) => {
        const report = await probeHost();
        if (a.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const yes = (b: boolean) => (b ? 'yes' : 'no');
        process.stdout.write(`${formatTable(['check', 'result'], [
          ['root', yes(report.root)],
          ['iproute2', report.iproute2 ?? 'missing'],
          ['tc', yes(report.tc)],
          ['network namespaces', yes(report.namespaces)],
          ['qdisc htb', yes(report.qdiscs.htb)],
          ['qdisc tbf', yes(report.qdiscs.tbf)],
          ['qdisc netem', yes(report.qdiscs.netem)],
          ['filter action mirred', yes(report.qdiscs.mirred)],
          ['TUN (/dev/net/tun)', yes(report.tun)],
          ['CPUs', String(report.cpus)],
          ['mode sim', report.modes.sim],
          ['mode emu, rate-only links', report.modes.emuRateOnly],
          ['mode emu, delay or loss', report.modes.emuDelayLoss],
        ], true)}\n`);
      },
    )    .command(
      'clean',
      'remove the namespaces of emulated runs whose process is gone (killed, crashed); a live run\'s are kept unless --force',
      (c) => c.option('force', { type: 'boolean', default: false, describe: 'also remove the namespaces of runs that are still going' }),
      guarded(async (a) => {
        if (process.getuid?.() !== 0) throw new UserError('clean needs root (it deletes network namespaces)');
        const { removed, live } = await removeLeftovers({ force: a.force });
        for (const g of removed) process.stdout.write(`removed ${describeGroup(g)}\n`);
        for (const g of live) process.stdout.write(`kept ${describeGroup(g)}: still running (geobed clean --force removes it)\n`);
        if (!removed.length && !live.length) process.stdout.write('nothing to clean\n');
      }),
    );
}
