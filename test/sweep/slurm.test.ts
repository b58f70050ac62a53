/**
 * geobed sweep --slurm against a real Slurm (root; Debian's slurm-wlm and
 * munge, which CI installs): the test starts a one-node cluster of its own
 * (munged on its own socket, slurmctld and slurmd on free ports, all in a
 * temporary folder), runs a small grid as one job array to completion, and
 * stops everything it started, pass or fail. The combined tables are the
 * same, byte for byte, as the same sweep run locally.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const isRoot = process.getuid?.() === 0;
const installed = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/bin/sbatch'].every(existsSync);
if (isRoot && !installed && process.env.CI !== 'true') process.stderr.write('sweep on Slurm: skipped, slurm-wlm and munge are not installed (Debian: apt-get install slurm-wlm munge)\n');

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const until = async (what: string, test: () => Promise<boolean>, timeoutMs: number) => {
  for (const end = Date.now() + timeoutMs; !(await test());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

describe.skipIf(!isRoot || (!installed && process.env.CI !== 'true'))('geobed sweep --slurm (root, a one-node Slurm)', () => {
  let dir = '';
  let env: Record<string, string> = {};
  const daemons: ResultPromise[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'geobed-slurm-'));
    for (const d of ['state', 'spool', 'munge']) mkdirSync(join(dir, d));
    const socket = join(dir, 'munge', 'munge.socket');
    const [ctld, slurmd] = [await freePort(), await freePort()];
    const host = hostname().split('.')[0];
    writeFileSync(join(dir, 'slurm.conf'), [
      'ClusterName=geobedtest', `SlurmctldHost=${host}`, 'SlurmUser=root', 'SlurmdUser=root',
      'AuthType=auth/munge', `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`, `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`, `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldPort=${ctld}`, `SlurmdPort=${slurmd}`,
      'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'JobAcctGatherType=jobacct_gather/none',
      'SchedulerType=sched/backfill', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_CPU', 'ReturnToService=2', 'MpiDefault=none',
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`, `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      `NodeName=${host} CPUs=${cpus().length} State=UNKNOWN`, `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`, '',
    ].join('\n'));
    env = { SLURM_CONF: join(dir, 'slurm.conf') };
    // in the foreground, children of this test: killed by it at the end, whatever happens
    daemons.push(execa('munged', ['--foreground', '--force', `--socket=${socket}`, `--pid-file=${join(dir, 'munged.pid')}`, `--log-file=${join(dir, 'munged.log')}`, `--seed-file=${join(dir, 'munged.seed')}`], { reject: false }));
    await until('munged', async () => existsSync(socket), 10_000);
    daemons.push(execa('slurmctld', ['-D', '-f', env.SLURM_CONF], { reject: false, env }));
    daemons.push(execa('slurmd', ['-D', '-f', env.SLURM_CONF], { reject: false, env }));
    await until('the node to be idle', async () => /idle/.test(String((await execa('sinfo', ['-h', '-o', '%T'], { reject: false, env })).stdout)), 30_000);
  }, 60_000);

  afterAll(async () => {
    await execa('scancel', ['--full', '-u', 'root'], { reject: false, env });
    for (const d of daemons) d.kill('SIGTERM');
    for (const d of daemons) {
      const killer = setTimeout(() => d.kill('SIGKILL'), 5000);
      await d;
      clearTimeout(killer);
    }
    // nothing of the cluster left running
    expect((await execa('pgrep', ['-f', dir], { reject: false })).stdout.trim()).toBe('');
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('a grid as one job array: every run done, status and collect, the same tables as the sweep run here', async () => {
    const work = join(dir, 'work');
    mkdirSync(work);
    writeFileSync(join(work, 'q.yaml'), readFileSync(QUICKSTART, 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`).replace('schedulers:\n  - star', 'schedulers:\n  - star\n  - netstorm'));
    writeFileSync(join(work, 's.yaml'), 'name: onslurm\nscenarios: [q.yaml]\nseeds: [1, 2]\niterations: 3\n');
    const geobed = (args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { ...env, FORCE_COLOR: '0' } });
    const out = join(work, 'cluster');
    const submitted = await geobed(['sweep', join(work, 's.yaml'), '--slurm', '--out', out, '--tasks', '2']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const job = /submitted Slurm job (\d+): 2 array task\(s\)/.exec(submitted.stdout)?.[1];
    expect(job).toBeTruthy();
    expect(readFileSync(join(out, 'slurm', 'sweep.sbatch'), 'utf8')).toMatch(/#SBATCH --array=0-1\n/);
    await until('the array to finish', async () => /4 of 4 runs done/.test((await geobed(['sweep', 'status', out])).stdout), 180_000);
    const status = await geobed(['sweep', 'status', out]);
    expect(status.stdout).toMatch(new RegExp(`Slurm job ${job}: `));
    // each array task ran its share (tasks 0 and 1: points 0, 2 and 1, 3)
    for (const task of [0, 1]) expect(readFileSync(join(out, 'slurm', `task-${task}.out`), 'utf8')).toMatch(new RegExp(`task ${task} of 2: 2 run\\(s\\), 0 already done, 0 failed`));
    const collected = await geobed(['sweep', 'collect', out]);
    expect(collected.exitCode, collected.stderr).toBe(0);
    // the same sweep here: the same runs, so the same combined tables
    const local = join(work, 'local');
    expect((await geobed(['sweep', join(work, 's.yaml'), '--out', local])).exitCode).toBe(0);
    for (const table of ['summary.csv', 'iterations.csv', 'transfers.csv']) {
      expect(readFileSync(join(out, table), 'utf8'), table).toBe(readFileSync(join(local, table), 'utf8'));
    }
    // submitting again has nothing left to do
    const again = await geobed(['sweep', join(work, 's.yaml'), '--slurm', '--out', out]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/every run is done; nothing to submit/);
  }, 240_000);
});
