/**
 * Every bad input meets a refusal, as a user meets it: the built CLI exits
 * with the expected code and one line naming what is wrong, prints no stack
 * trace, and creates nothing: no results folder, and (as root) no namespace,
 * no interface in the host's namespace, no helper process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { scenarioText } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const isRoot = process.getuid?.() === 0;

/** A scenario text with some lines replaced (see scenarioText). */
const s = scenarioText;
const twoLinks = (first: string, second = '    bandwidth: 10') => `links:\n  - between: [a, b]\n${first}\n  - between: [b, c]\n${second}`;
const aliasBomb = ['name: bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');

interface Case {
  what: string;
  /** Files to write in the working folder. */
  files?: Record<string, string>;
  args: string[];
  exit: number;
  message: RegExp;
  /** The case needs root (and is run as root only). */
  root?: boolean;
  /** FIFOs (named pipes) to make in the working folder. */
  fifos?: string[];
}

const CASES: Case[] = [
  // names become folder names: nothing a scenario says may place files outside the results folder
  { what: 'a name that climbs out of results/', files: { 's.yaml': s({ name: 'name: ../../../tmp/x' }) }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml:1: name: 1-64 letters, digits, "\.", "_" or "-"/ },
  { what: 'a name with spaces, "/" and ":"', files: { 's.yaml': s({ name: 'name: "a b/c:d"' }) }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml:1: name: 1-64 letters/ },
  { what: 'a 300-character name', files: { 's.yaml': s({ name: `name: ${'n'.repeat(300)}` }) }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml:1: name: 1-64 letters/ },
  { what: 'a scheduler label with "/"', files: { 's.yaml': s({ schedulers: 'schedulers: [{ name: star, label: ../../x }]' }) }, args: ['run', 's.yaml'], exit: 2, message: /schedulers\[0\]\.label: 1-64 letters/ },
  // numbers beyond what can run
  { what: 'bandwidth 1e300 Mbit/s', files: { 's.yaml': s({ links: twoLinks('    bandwidth: 1e300') }) }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml:7: links\[0\]\.bandwidth: at most 1000000 Mbit\/s \(1 Tbit\/s\)/ },
  { what: 'a trace file with 1e300 Mbit/s', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { trace: t.csv }') }), 't.csv': 'time_s,mbps\n0,10\n1,1e300\n' }, args: ['run', 's.yaml'], exit: 2, message: /t\.csv:3: mbps must be at most 1000000/ },
  { what: 'a scaled trace above 1 Tbit/s', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { trace: t.csv, scale: 1e6 }') }), 't.csv': 'time_s,mbps\n0,10\n' }, args: ['run', 's.yaml'], exit: 2, message: /links\[0\]\.bandwidth: a rate of 10000000 Mbit\/s is above the largest/ },
  { what: 'a delay of a million seconds', files: { 's.yaml': s({ links: twoLinks('    bandwidth: 10\n    delay_ms: 1e9') }) }, args: ['run', 's.yaml'], exit: 2, message: /links\[0\]\.delay_ms: at most 60000 ms/ },
  { what: 'a 1e300 MB gradient', files: { 's.yaml': s({ workload: 'workload: { gradient_mb: 1e300, compute_ms: 1 }' }) }, args: ['run', 's.yaml'], exit: 2, message: /workload\.gradient_mb: at most 1000000 MB/ },
  { what: '2e9 iterations', files: { 's.yaml': s({ iterations: 'iterations: 2000000000' }) }, args: ['run', 's.yaml'], exit: 2, message: /iterations: at most 1000000000/ },
  { what: 'a generator period of a nanosecond', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { generator: redraw-uniform, min_mbps: 1, max_mbps: 2, period_s: 1e-9 }') }) }, args: ['run', 's.yaml'], exit: 2, message: /links\[0\]\.bandwidth\.period_s: at least 0\.001 s/ },
  { what: 'a NetStorm re-plan every nanosecond', files: { 's.yaml': s({ schedulers: 'schedulers: [{ name: netstorm, check_period_s: 1e-9 }]' }) }, args: ['run', 's.yaml'], exit: 2, message: /schedulers\[0\]\.check_period_s: at least 0\.001 s/ },
  { what: 'links.csv bins of 0 s', files: { 's.yaml': s({ results: 'results: { bin_s: 0 }' }) }, args: ['run', 's.yaml'], exit: 2, message: /results\.bin_s: at least 0\.001 s/ },
  { what: 'a Mahimahi bin under 1 ms', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { mahimahi: m.up, bin_ms: 0.5 }') }), 'm.up': '1\n' }, args: ['run', 's.yaml'], exit: 2, message: /bandwidth\.bin_ms: at least 1 ms/ },
  { what: 'NetStorm roots beyond the nodes', files: { 's.yaml': s({ schedulers: 'schedulers: [{ name: netstorm, roots: 7 }]' }) }, args: ['run', 's.yaml'], exit: 2, message: /schedulers\[0\]\.roots: at most 3, the number of nodes/ },
  // structure
  { what: 'a YAML alias bomb', files: { 's.yaml': aliasBomb }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml: YAML: .*alias.*; expand the aliases by hand/i },
  { what: 'a link with no bandwidth anywhere', files: { 's.yaml': s({ links: twoLinks('    delay_ms: 3') }) }, args: ['run', 's.yaml'], exit: 2, message: /s\.yaml:6: links\[0\]\.bandwidth: missing; every link needs a bandwidth/ },
  { what: 'a mesh whose 0 entries cut a node off', files: { 's.yaml': s({ links: 'mesh:\n  bandwidth_mbps: [[0, 10, 0], [10, 0, 0], [0, 0, 0]]' }) }, args: ['run', 's.yaml'], exit: 2, message: /the topology is not connected: c cannot be reached from a/ },
  { what: 'a mesh that reaches a node one way only', files: { 's.yaml': s({ links: 'mesh:\n  bandwidth_mbps: [[0, 10, 10], [10, 0, 0], [0, 0, 0]]' }) }, args: ['run', 's.yaml'], exit: 2, message: /not connected: a cannot be reached from c/ },
  { what: 'a folder as the scenario', files: { 'dir/x': '' }, args: ['run', 'dir'], exit: 2, message: /dir: cannot read scenario file \(it is a folder\)/ },
  { what: 'an empty scenario file', files: { 's.yaml': '' }, args: ['validate', 's.yaml'], exit: 2, message: /s\.yaml: \(top level\): expected a mapping/ },
  // --set overrides: the field is checked as if the file said so, and the message names the override
  { what: '--set without "="', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--set', 'network.underlay'], exit: 2, message: /--set network\.underlay: expected path=value/ },
  { what: '--set of a bad value', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--set', 'network.underlay=tunnel'], exit: 2, message: /network\.underlay: expected one of "ip", "relay" \(set by --set network\.underlay=tunnel\)/ },
  { what: '--set of an unknown field', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--set', 'network.undelray=relay'], exit: 2, message: /network: unknown field "undelray" \(set by --set network\.undelray=relay\)/ },
  { what: '--set of a scheduler that is not there', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--set', 'schedulers.tsengine.granularity=key'], exit: 2, message: /--set schedulers\.tsengine\.granularity=key: schedulers\.tsengine: expected an index from 0 to \d+ or a scheduler's label or name/ },
  // the output folder, checked before any work
  { what: '--out inside a file', files: { 's.yaml': s(), f: 'x' }, args: ['run', 's.yaml', '--out', 'f/out'], exit: 2, message: /--out: cannot create the folder .*\/f \(EEXIST|--out: cannot create f\/out \(ENOTDIR/ },
  { what: '--out in /proc', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--out', '/proc/geobed-x'], exit: 2, message: /--out: cannot create \/proc\/geobed-x \(ENOENT/ },
  { what: '--out in /sys', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--out', '/sys/geobed-x'], exit: 2, message: /--out: cannot create \/sys\/geobed-x \((EPERM|EACCES|ENOENT|EROFS)/ },
  { what: '--out with a 300-character name', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--out', 'o'.repeat(300)], exit: 2, message: /--out: cannot create o{300} \(ENAMETOOLONG: name too long\)/ },
  { what: '--out that exists', files: { 's.yaml': s(), 'taken/x': '' }, args: ['run', 's.yaml', '--out', 'taken'], exit: 2, message: /--out: taken already exists; choose a new folder/ },
  { what: 'a read-only results folder (as a user without root)', files: { 's.yaml': s(), 'ro/.keep': '' }, args: ['run', 's.yaml', '--out', 'ro/run'], exit: 2, message: /--out: cannot create ro\/run \(EACCES: permission denied\); choose another place with --out/ },
  // flags
  { what: '--iterations 0', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--iterations', '0'], exit: 2, message: /--iterations: expected a whole number from 1 to 1000000000, got 0/ },
  { what: '--iterations 1e10', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--iterations', '1e10'], exit: 2, message: /--iterations: expected a whole number from 1/ },
  { what: '--seed -1', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--seed', '-1'], exit: 2, message: /--seed: expected a whole number >= 0, got -1/ },
  { what: '--stall-timeout in simulated mode', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--stall-timeout', '5'], exit: 2, message: /--stall-timeout applies to --mode emu only/ },
  { what: '--calibration without training', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--calibration', 'm.json'], exit: 2, message: /--calibration applies to scenarios that train/ },
  { what: 'trace gen at a period of 0.1 ms', args: ['trace', 'gen', 'redraw-uniform', '--min-mbps', '1', '--max-mbps', '2', '--period-s', '0.0001'], exit: 2, message: /--period-s: at least 0\.001 s/ },
  { what: 'trace gen of 1e8 rows', args: ['trace', 'gen', 'redraw-uniform', '--min-mbps', '1', '--max-mbps', '2', '--period-s', '0.001', '--seconds', '1e5'], exit: 2, message: /about 1\.0e\+8 rows, more than geobed writes \(10000000\)/ },
  { what: 'trace gen --out into a missing folder', args: ['trace', 'gen', 'steps', '--mbps', '1,2', '--period-s', '1', '--out', 'no/such/t.csv'], exit: 2, message: /--out: cannot write no\/such\/t\.csv \(ENOENT\)/ },
  { what: 'trace convert with 0.00001 ms bins', files: { 'm.up': '1\n2\n' }, args: ['trace', 'convert', 'm.up', '--bin-ms', '1e-5'], exit: 2, message: /--bin-ms must be at least 1/ },
  { what: 'summarize a folder that holds no run', files: { 'empty/x': '' }, args: ['summarize', 'empty'], exit: 2, message: /empty: not a geobed results folder \(no manifest\.json\)/ },
  { what: 'an unknown command', args: ['frobnicate'], exit: 2, message: /geobed: Unknown argument: frobnicate/ },
  // emulated mode
  { what: '--links kernel with delay on a kernel without netem', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--mode', 'emu', '--links', 'kernel'], exit: 2, message: /b->c, c->b ask for delay, jitter or loss.*--links native|--mode emu needs root/, root: true },
  {
    what: 'an emulated mesh too large for the address space',
    files: { 's.yaml': `name: wide\nnodes: [${Array.from({ length: 200 }, (_, i) => `n${i}`).join(', ')}]\nmesh: { bandwidth: 10 }\nworkload: { gradient_mb: 1, compute_ms: 1 }\nschedulers: [star]\n` },
    args: ['run', 's.yaml', '--mode', 'emu'], exit: 2, message: /--mode emu: 200 nodes and 19900 links do not fit the emulated address space/, root: true,
  },
  { what: 'emulated, with --links in simulated mode', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--links', 'native'], exit: 2, message: /--links applies to --mode emu only/ },
  { what: 'decompose with one seed (no interval)', files: { 's.yaml': s() }, args: ['decompose', 's.yaml', '--seeds', '1'], exit: 2, message: /--seeds: expected a whole number from 2 to 1000/ },
  { what: 'decompose against an unknown baseline', files: { 's.yaml': s() }, args: ['decompose', 's.yaml', '--baseline', 'nope'], exit: 2, message: /--baseline: no scheduler labelled "nope" \(star\)/ },
  { what: 'decompose of a missing scenario', args: ['decompose', 'none.yaml'], exit: 2, message: /none\.yaml: cannot read scenario file/ },
  { what: 'a redraw-randint draw beyond its period\'s draws', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { generator: redraw-randint, min_mbps: 20, max_mbps: 155, period_s: 180, seed: 1, draws_per_period: 4, draw: 4 }') }) }, args: ['run', 's.yaml'], exit: 2, message: /links\[0\]\.bandwidth\.draw: draw \(4\) must be below draws_per_period \(4\)/ },
  { what: 'an unknown underlay', files: { 's.yaml': s({ network: 'network: { underlay: tunnel }' }) }, args: ['run', 's.yaml'], exit: 2, message: /network\.underlay/ },
  { what: '--control in simulated mode', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--control', 'tcp'], exit: 2, message: /--control applies to --mode emu only/ },
  { what: 'an unknown control channel', files: { 's.yaml': s() }, args: ['run', 's.yaml', '--mode', 'emu', '--control', 'udp'], exit: 2, message: /--control.*Invalid values|Invalid values.*control/s },
  {
    what: 'a management network too small for the mesh (--control tcp)',
    files: { 's.yaml': `name: wide\nnodes: [${Array.from({ length: 2046 }, (_, i) => `n${i}`).join(', ')}]\nlinks:\n${Array.from({ length: 2045 }, (_, i) => `  - { between: [n${i}, n${i + 1}], bandwidth: 10 }`).join('\n')}\nworkload: { gradient_mb: 1, compute_ms: 1 }\nschedulers: [star]\n` },
    args: ['run', 's.yaml', '--mode', 'emu', '--control', 'tcp'], exit: 2, message: /--control tcp: a management network addresses at most 2045 nodes; .*s\.yaml has 2046 \(use --control ipc\)/, root: true,
  },
  // Issue 25: inputs that were accepted, hung, or echoed raw bytes
  { what: 'a trace file that is a FIFO (it hung validate for ever)', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { trace: t.csv }') }) }, fifos: ['t.csv'], args: ['validate', 's.yaml'], exit: 2, message: /links\[0\]\.bandwidth\.trace: .*t\.csv: cannot read trace file \(not a regular file: a FIFO, a device or a socket\)/ },
  { what: 'a scenario file that is a FIFO', fifos: ['s.yaml'], args: ['run', 's.yaml'], exit: 2, message: /s\.yaml: cannot read scenario file \(not a regular file/ },
  { what: 'a binary trace file: its bytes escaped and cut in the message', files: { 's.yaml': s({ links: twoLinks('    bandwidth: { trace: t.csv }') }), 't.csv': `\x7fELF\x02\x01\x01\x00\x1b[31m${'\x00\x07'.repeat(200)}` }, args: ['validate', 's.yaml'], exit: 2, message: /expected the header "time_s,mbps", got "\\x7fELF\\x02\\x01\\x01\\x00\\x1b\[31m(\\x00\\x07)+[^"]*" \(and \d+ more characters\)/ },
  { what: 'trace gen with min above max (the scenario refused it; the command did not)', args: ['trace', 'gen', 'redraw-uniform', '--min-mbps', '80', '--max-mbps', '20', '--period-s', '1'], exit: 2, message: /^geobed: trace gen redraw-uniform: --min-mbps \(80\) must not exceed --max-mbps \(20\)$/m },
  { what: 'jitter above the delay', files: { 's.yaml': s({ links: twoLinks('    bandwidth: 50\n    delay_ms: 2\n    jitter_ms: 16') }) }, args: ['run', 's.yaml'], exit: 2, message: /links\[0\]\.jitter_ms: jitter_ms \(16\) must not exceed delay_ms \(2\)/ },
];

async function hostState(): Promise<{ namespaces: string[]; links: string[]; helpers: string }> {
  if (!isRoot) return { namespaces: [], links: [], helpers: '' };
  const namespaces = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('gb-'));
  const links = (await execa('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim() ?? '').sort();
  const helpers = (await execa('pgrep', ['-f', 'run/agent-process.js|geobed-linkem'], { reject: false })).stdout.trim();
  return { namespaces, links, helpers };
}

describe('refusals: every bad input is refused with one clear line and nothing created', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'geobed-refusals-'));
    chmodSync(root, 0o755);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  CASES.forEach((c, i) => {
    it.skipIf(c.root && !isRoot)(c.what, async () => {
      const cwd = join(root, `case-${i}`);
      mkdirSync(cwd, { mode: 0o777 });
      chmodSync(cwd, 0o777);
      for (const [name, text] of Object.entries(c.files ?? {})) {
        mkdirSync(join(cwd, name, '..'), { recursive: true });
        writeFileSync(join(cwd, name), text);
      }
      for (const name of c.fifos ?? []) await execa('mkfifo', [join(cwd, name)]);
      const readOnly = c.args.includes('ro/run');
      if (readOnly) chmodSync(join(cwd, 'ro'), 0o555);
      const before = readdirSync(cwd, { recursive: true }).map(String).sort();
      const host = await hostState();
      // root may write anywhere: the read-only case runs as nobody, as a user without root would
      const [file, args] = readOnly && isRoot
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...c.args]]
        : [process.execPath, [BIN, ...c.args]];
      // (a refusal is prompt: one that waits, as on a FIFO, fails here)
      const r = await execa(file, args, { cwd, reject: false, env: { FORCE_COLOR: '0' }, timeout: 20_000 });
      expect(r.exitCode, r.stderr).toBe(c.exit);
      expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/); // no raw control bytes from a user's file
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).toMatch(/^geobed: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(readdirSync(cwd, { recursive: true }).map(String).sort()).toEqual(before);
      expect(await hostState()).toEqual(host);
    });
  });

});
