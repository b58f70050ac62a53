/**
 * YAML input files (scenarios, sweeps) read with their line numbers, so a
 * problem can name the file, line and field.
 */
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ScenarioError } from './errors.js';
import { formatPath, type FieldIssue } from './issues.js';

export interface YamlFile {
  doc: Document;
  lineCounter: LineCounter;
}

/** Parse YAML text; a syntax error names the file, line and column. */
export function parseYamlFile(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new ScenarioError(lines.join('\n'));
  }
  return { doc, lineCounter };
}

/** The document as plain data; aliases that would expand without bound ("billion laughs") are refused. */
export function plainData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ScenarioError(`${file}: YAML: ${(e as Error).message.replace(/\.$/, '')}; expand the aliases by hand`);
  }
}

/** ":line" of the deepest YAML node that exists along `path`, or "". */
export function lineOf({ doc, lineCounter }: YamlFile, path: (string | number)[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return `:${lineCounter.linePos(node.range[0]).line}`;
  }
  return '';
}

/** One line per problem: file:line: field: what was expected. */
export function issueLines(yaml: YamlFile, file: string, issues: FieldIssue[]): string[] {
  return [...new Set(issues.map((i) => `${file}${lineOf(yaml, i.path)}: ${formatPath(i.path)}: ${i.message}`))];
}
