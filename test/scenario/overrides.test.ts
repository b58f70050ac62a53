import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';
import { scenarioText } from '../helpers.js';

const text = scenarioText({ schedulers: 'schedulers:\n  - star\n  - { name: netstorm, label: ns2, roots: 2 }\n  - netstorm' });
const load = (set: string[]) => parseScenario(text, 's.yaml', { set });
const refusal = (set: string[]) => {
  try {
    load(set);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('--set path=value', () => {
  it('sets a field as if the file said so, the value read as YAML', () => {
    expect(load([]).network.underlay).toBe('ip');
    const s = load(['network.underlay=relay', 'iterations=9', 'links.0.delay_ms=12.5']);
    expect(s.network.underlay).toBe('relay');
    expect(s.iterations).toBe(9);
    expect(s.links.find((l) => l.name === 'a->b')!.delayS).toBeCloseTo(0.0125, 12);
    expect(s.overrides).toEqual(['network.underlay=relay', 'iterations=9', 'links.0.delay_ms=12.5']);
    expect(load([]).overrides).toBeUndefined();
  });

  it('finds a scheduler by label, else by name, and turns a bare name into a mapping', () => {
    const byLabel = load(['schedulers.ns2.roots=1']).schedulers;
    expect(byLabel.map((c) => c.label)).toEqual(['star', 'ns2', 'netstorm']);
    expect((byLabel[1] as { roots?: number }).roots).toBe(1);
    const bare = load(['schedulers.netstorm.roots=3']).schedulers;
    expect((bare[2] as { roots?: number }).roots).toBe(3);
    expect((bare[1] as { roots?: number }).roots).toBe(2);
    const star = load(['schedulers.star.pull=pipelined']).schedulers[0];
    expect((star as { pull?: string }).pull).toBe('pipelined');
  });

  it('a later override wins, and a mapping value replaces the field', () => {
    const s = load(['links.1.bandwidth=40', 'links.1.bandwidth={ generator: steps, mbps: [10, 20], period_s: 1 }']);
    const bc = s.links.find((l) => l.name === 'b->c')!;
    expect([0.5, 1.5, 2.5].map((t) => bc.trace.rateAt(t))).toEqual([10, 20, 10]);
  });

  it('refuses what the file would be refused for, naming the override', () => {
    expect(refusal(['network.underlay=tunnel'])).toMatch(/^s\.yaml: network\.underlay: expected one of "ip", "relay" \(set by --set network\.underlay=tunnel\)$/m);
    expect(refusal(['schedulers.ns2.roots=7'])).toMatch(/schedulers\[1\]\.roots: at most 3, the number of nodes.*\(set by --set schedulers\.ns2\.roots=7\)/);
    expect(refusal(['iterations'])).toMatch(/--set iterations: expected path=value/);
    expect(refusal(['links..delay_ms=1'])).toMatch(/empty field name/);
    expect(refusal(['links.5.delay_ms=1'])).toMatch(/links\.5: expected an index from 0 to 1$/);
    expect(refusal(['schedulers.ring.chunk_elements=1'])).toMatch(/schedulers\.ring: expected an index from 0 to 2 or a scheduler's label or name \(star, ns2, netstorm\)/);
    expect(refusal(['name.first=x'])).toMatch(/--set name\.first=x: name is a single value, it has no field "first"/);
    expect(refusal(['seed=[1'])).toMatch(/--set seed=\[1: the value is not valid YAML/);
  });
});
