/**
 * geobed report in a real browser (Debian's chromium, driven by
 * playwright-core): the page loads with no console error and no request
 * beyond the file itself (it is self-contained), every plot renders, and
 * the summary table shows summary.csv. CI installs chromium; elsewhere
 * without it the test says so and is skipped (in CI it fails instead).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { useTempDir } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const CHROMIUM = '/usr/bin/chromium';
const geobed = (args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { FORCE_COLOR: '0' } });
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI !== 'true') process.stderr.write(`report in a browser: skipped, ${CHROMIUM} is not installed (Debian: apt-get install chromium)\n`);

describe.skipIf(!haveChromium && process.env.CI !== 'true')('geobed report in a browser', () => {
  const dir = useTempDir();
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Open a report; returns its console errors, requests other than the file, and the page. */
  async function open(file: string) {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url !== `file://${file}`) requests.push(url);
      return url.startsWith('file://') ? route.continue() : route.abort();
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered]', { timeout: 30_000 });
    return { page, errors, requests };
  }

  it('a run\'s report: loads offline without errors, every plot renders, the table is summary.csv', async () => {
    const out = join(dir.path, 'run');
    expect((await geobed(['run', QUICKSTART, '--schedulers', 'star,mlnet,netstorm', '--iterations', '5', '--out', out])).exitCode).toBe(0);
    const r = await geobed(['report', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { page, errors, requests } = await open(join(out, 'report.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const plots = await page.$$eval('.plot', (divs) => divs.map((d) => ({ id: d.id, marks: d.querySelectorAll('svg path, svg line, svg rect, svg circle, svg text').length })));
    expect(plots.length).toBe(13);
    expect(Number(await page.getAttribute('body', 'data-rendered'))).toBe(plots.length);
    for (const p of plots) expect(p.marks, p.id).toBeGreaterThan(10);
    const table = await page.$$eval('#summary tr', (rows) => rows.map((row) => [...row.querySelectorAll('th, td')].map((c) => c.textContent ?? '')));
    expect(table).toEqual(parse(readFileSync(join(out, 'summary.csv')), { skip_empty_lines: true }));
    expect(await page.textContent('h1')).toBe('geobed: quickstart');
    await page.close();
  }, 120_000);

  it('a sweep\'s report: the comparison across seeds, and its plots', async () => {
    const sweep = join(dir.path, 's.yaml');
    const scenario = readFileSync(QUICKSTART, 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`).replace('schedulers:\n  - star', 'schedulers:\n  - star\n  - netstorm');
    writeFileSync(join(dir.path, 'q.yaml'), scenario);
    writeFileSync(sweep, 'name: rep\nscenarios: [q.yaml]\nseeds: [1, 2]\niterations: 3\n');
    const out = join(dir.path, 'sweep');
    expect((await geobed(['sweep', sweep, '--out', out])).exitCode).toBe(0);
    expect((await geobed(['report', out])).exitCode).toBe(0);
    const { page, errors, requests } = await open(join(out, 'report.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(Number(await page.getAttribute('body', 'data-rendered'))).toBe(3);
    const rows = await page.$$eval('#comparison-0 tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '')));
    expect(rows.map((row) => [row[0], row[1]])).toEqual([['star', '2'], ['netstorm', '2']]);
    await page.close();
  }, 120_000);
});
