/**
 * The scheduler registry is the one place a scheduler is defined: the
 * scenario schema, the JSON Schema, the loader's checks and the policies
 * all follow from it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SCHEDULERS, SCHEDULER_NAMES, makePolicy, schedulerSpec } from '../../src/sync/schedulers/index.js';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { scenarioText } from '../helpers.js';
import { oneWorkerEach } from '../../src/model/data-centers.js';

interface Branch { properties: Record<string, { const?: string }>; required?: string[] }

describe('the scheduler registry', () => {
  it('the JSON Schema has one branch per registered scheduler, with exactly its options', () => {
    const items = (scenarioJsonSchema() as { properties: { schedulers: { items: { oneOf: Branch[] } } } }).properties.schedulers.items.oneOf;
    expect(items.map((b) => b.properties.name.const)).toEqual(SCHEDULER_NAMES);
    for (const definition of SCHEDULERS) {
      const branch = items.find((b) => b.properties.name.const === definition.name)!;
      expect(Object.keys(branch.properties).sort(), definition.name).toEqual(Object.keys(definition.spec.shape).sort());
    }
    // and the shipped schema file is that schema
    expect(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'scenarios', 'scenario.schema.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });

  it('every registered scheduler parses from its bare name with its defaults, and makes a policy', () => {
    for (const name of SCHEDULER_NAMES) {
      const spec = schedulerSpec.parse(name);
      expect(spec.name).toBe(name);
      expect(spec.chunk_elements).toBe(1_000_000);
      const policy = makePolicy({ ...spec, label: name }, { nodes: ['a', 'b'], workers: ['a', 'b'], dataCenters: oneWorkerEach(['a', 'b'], ['a', 'b']), seed: 1 });
      expect(typeof policy.currentPlan).toBe('function');
    }
    expect(schedulerSpec.safeParse('warp').success).toBe(false);
  });

  it('each definition\'s node fields are checked against the scenario\'s nodes, and its own checks run', () => {
    const errorOf = (schedulers: string) => {
      try {
        parseScenario(scenarioText({ schedulers: `schedulers: ${schedulers}` }), 's.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      return '';
    };
    for (const definition of SCHEDULERS) {
      for (const field of definition.nodeFields) {
        const shape = definition.spec.shape[field] as z.ZodType;
        const value = shape.safeParse('q').success ? 'q' : '[q]';
        expect(errorOf(`[{ name: ${definition.name}, ${field}: ${value} }]`), `${definition.name}.${field}`).toMatch(/unknown node "q"; nodes are a, b, c/);
      }
    }
    expect(errorOf('[{ name: star, servers: [a, a] }]')).toMatch(/schedulers\[0\]\.servers\[1\]: "a" is listed twice/);
    expect(errorOf('[{ name: ring, order: [a, b] }]')).toMatch(/schedulers\[0\]\.order: the ring must list every data center with workers exactly once \(a, b, c\)/);
    expect(errorOf('[{ name: netstorm, roots: 4 }]')).toMatch(/schedulers\[0\]\.roots: at most 3, the number of nodes/);
    expect(errorOf('[star, star]')).toMatch(/two schedulers are both labelled "star"/);
  });
});
