import { type Document, isMap, isNode, isScalar, isSeq, type Node, type Pair } from 'yaml';
import type { z } from 'zod';

/**
 * The candidate `name` is most likely a typo of (case-insensitive edit distance, a swap counting as one
 * edit), or undefined when none is close: a third of the name's length, so uniqe → unique but not
 * owner → order_by.
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.ceil(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}

/** ` (did you mean "x"?)` when one of `candidates` is close to `name`, else ''. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const guess = closest(name, candidates);
  return guess === undefined ? '' : ` (did you mean "${guess}"?)`;
}

/** What to write for a required top-level key of lakehouse.yaml that is missing. */
const MISSING_KEY_HINTS: Record<string, string> = {
  name: ': add e.g. `name: my-project`',
  sources: ': add `sources: {}` for a project without sources, or the sources as docs/projects.md shows',
};

/**
 * Error map for parsing strict config schemas (pass it to safeParse): an unknown key's error names the
 * closest valid key and lists them all, from the shape of the object that refused it; a missing required
 * key says so, where zod says "expected string, received undefined".
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    const path = issue.path ?? [];
    const hint = path.length === 1 ? (MISSING_KEY_HINTS[String(path[0])] ?? '') : '';
    return `required, but not given${hint}`;
  }
  if (issue.code !== 'unrecognized_keys') return undefined;
  const def = issue.inst?._zod.def;
  const valid = def && 'shape' in def ? Object.keys(def.shape as object) : [];
  const keys = issue.keys.map((key) => `Unrecognized key: "${key}"${didYouMean(key, valid)}`).join(', ');
  return valid.length > 0 ? `${keys}; valid keys: ${valid.join(', ')}` : keys;
};

export interface LocatedIssue {
  /** Dotted path of the setting, '' for the document itself. */
  path: string;
  /** 1-based line of the file, when the setting (or the nearest enclosing one) is in the document. */
  line?: number;
  message: string;
}

/**
 * zod's issues on a parsed YAML document, each with the line it concerns (the unknown key itself, the
 * key of a wrong value, or the nearest enclosing key of a missing one) and a suggestion for a misspelt
 * option. `firstLine` is the file line the document's text starts on.
 */
export function locateIssues(
  issues: readonly z.core.$ZodIssue[],
  document: Document,
  text: string,
  firstLine = 1,
): LocatedIssue[] {
  const lineAt = (offset: number) => firstLine + (text.slice(0, offset).match(/\n/g)?.length ?? 0);
  const located: LocatedIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const found = locate(document, path);
    if (!found.complete && isRedundant(issue, path, issues)) continue;
    let offset = found.keyNode?.range?.[0] ?? (isNode(found.node) ? found.node.range?.[0] : undefined);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys' && isMap(found.node)) {
      const pair = found.node.items.find((p) => scalarText(p.key) === issue.keys[0]);
      offset = (pair?.key as Node | undefined)?.range?.[0] ?? offset;
    }
    // An option or a source kind misspelt: zod lists the valid ones, the closest is worth saying.
    const options =
      issue.code === 'invalid_value'
        ? issue.values.map(String)
        : issue.code === 'invalid_union' && 'options' in issue
          ? (issue.options as unknown[]).map(String)
          : [];
    const written = found.complete && isScalar(found.node) ? found.node.value : undefined;
    if (options.length > 0 && typeof written === 'string') {
      message = `"${written}" is not valid${didYouMean(written, options)}: ${message}`;
    }
    located.push({ path: path.join('.'), line: offset === undefined ? undefined : lineAt(offset), message });
  }
  return located;
}

/**
 * A required key (absent from the document) reported missing right beside an unknown key that is a
 * typo of it (`value:` for `values:`): the unknown key's message already says it all.
 */
function isRedundant(
  issue: z.core.$ZodIssue,
  path: (string | number)[],
  issues: readonly z.core.$ZodIssue[],
): boolean {
  const missing = path.at(-1);
  if (issue.code !== 'invalid_type' || typeof missing !== 'string') return false;
  const parent = path.slice(0, -1).join('.');
  return issues.some(
    (other) =>
      other.code === 'unrecognized_keys' &&
      other.path.join('.') === parent &&
      other.keys.some((key) => closest(key, [missing]) === missing),
  );
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/** The deepest node of `path` present in the document, with the key it sits under. */
function locate(
  document: Document,
  path: (string | number)[],
): { node: unknown; keyNode?: Node; complete: boolean } {
  let node: unknown = document.contents;
  let keyNode: Node | undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => scalarText(p.key) === String(step));
      if (!pair) return { node, keyNode, complete: false };
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number' && node.items[step] !== undefined) {
      node = node.items[step];
      keyNode = undefined;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

/** Each issue as `line N: path: message` (the parts that are known), for a multi-line error message. */
export function issueLines(issues: LocatedIssue[]): string[] {
  return issues.map(
    (i) => `${i.line === undefined ? '' : `line ${i.line}: `}${i.path ? `${i.path}: ` : ''}${i.message}`,
  );
}
