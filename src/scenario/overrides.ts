/**
 * `--set path=value`: change one field of a scenario file before it is
 * checked, as if the file said so. The path is dot-separated field names
 * (`network.underlay`, `workload.train.pad_to_profile`); inside a list a
 * segment is an index (`links.0.delay_ms`) or, in `schedulers`, a
 * scheduler's label or name (`schedulers.netstorm.roots`; a scheduler given
 * as a bare name becomes `{ name }` first). The value is read as YAML
 * (`relay`, `5`, `[dc1, dc2]`, `{ generator: steps, ... }`). Sweeps set
 * their grid's parameters the same way.
 */
import { isMap, isScalar, isSeq, parse, type Document } from 'yaml';
import { ScenarioError } from './errors.js';

export interface Override {
  /** As the user wrote it, for messages and the manifest. */
  text: string;
  /** The resolved path in the document (indexes for list items). */
  path: (string | number)[];
  value: unknown;
}

/** Split `a.b=value`; the value is YAML. */
export function parseOverride(text: string): { segments: string[]; value: unknown } {
  const eq = text.indexOf('=');
  const where = `--set ${text}`;
  if (eq <= 0) throw new ScenarioError(`${where}: expected path=value, e.g. network.underlay=relay`);
  const segments = text.slice(0, eq).split('.');
  if (segments.some((s) => s.trim() === '')) throw new ScenarioError(`${where}: empty field name in "${text.slice(0, eq)}"`);
  let value: unknown;
  try {
    value = parse(text.slice(eq + 1));
  } catch (e) {
    throw new ScenarioError(`${where}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return { segments: segments.map((s) => s.trim()), value };
}

/** Apply overrides to a parsed scenario document, in order; returns them resolved. */
export function applyOverrides(doc: Document, texts: string[]): Override[] {
  return texts.map((text) => {
    const { segments, value } = parseOverride(text);
    const path: (string | number)[] = [];
    for (const [i, segment] of segments.entries()) {
      const here = path.length === 0 ? doc.contents : doc.getIn(path, true);
      if (isSeq(here)) {
        const index = /^\d+$/.test(segment) ? Number(segment) : findByLabel(here.items, segment);
        if (index < 0 || index >= here.items.length) {
          const named = path[0] === 'schedulers' ? ` or a scheduler's label or name (${schedulerNames(here.items).join(', ')})` : '';
          throw new ScenarioError(`--set ${text}: ${[...path, segment].join('.')}: expected an index from 0 to ${here.items.length - 1}${named}`);
        }
        // a scheduler given as a bare name gets fields only as a mapping
        const item = here.items[index];
        if (isScalar(item) && i < segments.length - 1) here.items[index] = doc.createNode({ name: item.value });
        path.push(index);
      } else if (here === null || here === undefined || isMap(here)) {
        path.push(segment);
      } else {
        throw new ScenarioError(`--set ${text}: ${path.join('.')} is a single value, it has no field "${segment}"`);
      }
    }
    doc.setIn(path, doc.createNode(value));
    return { text, path, value };
  });
}

/**
 * Add to the document's schedulers each of `wanted` (--schedulers, a sweep's
 * schedulers) that it does not list by label or name, as the file would
 * list it bare: the scheduler then runs with its defaults, and an override
 * (`schedulers.netstorm.roots=2`) can set its fields as on one the file
 * lists. Returns the names added. A name that is no scheduler's is left to
 * the selection to refuse.
 */
export function addWantedSchedulers(doc: Document, wanted: string[], isScheduler: (name: string) => boolean): string[] {
  const list = doc.get('schedulers', true);
  if (!isSeq(list)) return [];
  const added: string[] = [];
  for (const name of wanted) {
    const listed = list.items.some((it) => labelOf(it) === name || nameOf(it) === name);
    if (listed || !isScheduler(name) || added.includes(name)) continue;
    list.items.push(doc.createNode(name));
    added.push(name);
  }
  return added;
}

function nameOf(item: unknown): string | undefined {
  if (isScalar(item)) return String(item.value);
  const name = isMap(item) ? item.get('name') : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** A scheduler's label, or its name when it has none (labels are unique in a valid scenario). */
function labelOf(item: unknown): string | undefined {
  if (isScalar(item)) return String(item.value);
  if (!isMap(item)) return undefined;
  const label = item.get('label') ?? item.get('name');
  return typeof label === 'string' ? label : undefined;
}

function findByLabel(items: unknown[], wanted: string): number {
  return items.findIndex((it) => labelOf(it) === wanted);
}

function schedulerNames(items: unknown[]): string[] {
  return items.map((it) => labelOf(it) ?? '?');
}
