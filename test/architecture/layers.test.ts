/**
 * The layers of src/ (docs/architecture.md): each imports only layers below
 * it, and the link backends never import each other. Read from the source
 * files' import statements (static and dynamic), so a new arrow the wrong
 * way fails here, naming the file and the import.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

/** Lowest first: a layer may import those before it, never those after. */
export const LAYERS = ['util', 'model', 'net', 'sync', 'scenario', 'train', 'results', 'run', 'report', 'sweep', 'cli'] as const;

/** Folders of src/net that must not import one another (the shared emulation pieces live in net/emu). */
const INDEPENDENT: Record<string, string[]> = {
  'net/sim': ['net/emu', 'net/kernel', 'net/native'],
  'net/emu': ['net/sim', 'net/kernel', 'net/native'],
  'net/kernel': ['net/sim', 'net/native'],
  'net/native': ['net/sim', 'net/kernel'],
};

const SRC = join(PACKAGE_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative module a file imports (import ... from, export ... from, import()). */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) found.push(m[1] ?? m[2]);
  return found.filter((s) => s.startsWith('.'));
}

/** The layer ('net', 'sync', ...) and folder ('net/emu', 'sync/schedulers', ...) of a file under src/. */
function placeOf(file: string): { layer: string; folder: string } {
  const parts = relative(SRC, file).split('/');
  return { layer: parts[0], folder: parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0] };
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = placeOf(file);
    const rank = LAYERS.indexOf(from.layer as (typeof LAYERS)[number]);
    if (rank < 0) {
      found.push(`${relative(SRC, file)}: src/${from.layer} is not a layer (add it to LAYERS and docs/architecture.md)`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!target.startsWith(SRC + '/')) {
        found.push(`${relative(SRC, file)} imports ${spec}, outside src/`);
        continue;
      }
      const to = placeOf(target);
      if (LAYERS.indexOf(to.layer as (typeof LAYERS)[number]) > rank) found.push(`${relative(SRC, file)} (${from.layer}) imports ${spec} (${to.layer}, a higher layer)`);
      if (INDEPENDENT[from.folder]?.includes(to.folder)) found.push(`${relative(SRC, file)} (${from.folder}) imports ${spec} (${to.folder})`);
    }
  }
  return found;
}

describe('architecture', () => {
  it('every import points down the layers, and the link backends stay apart', () => {
    expect(violations()).toEqual([]);
  });

  it('finds the imports it checks (static, re-exports, dynamic)', () => {
    const text = "import { a } from './a.js';\nimport type {\n  B,\n} from '../b.js';\nexport { c } from './c.js';\nconst d = await import('../d.js');\nimport { readFileSync } from 'node:fs';\n";
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './c.js', '../d.js']);
  });
});
