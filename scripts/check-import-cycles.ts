// Fails (exit 1) when relative imports between the project's TypeScript files form a cycle.
// Run by CI (`npm run check:cycles`): the house style allows no circular imports.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const FOLDERS = ['engine', 'cli', 'server', 'electron', 'renderer/src', 'bench', 'scripts'];
const IMPORT = /(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.tsx?$/.test(e.name) ? [full] : [];
  });
}

const graph = new Map<string, string[]>();
for (const file of FOLDERS.flatMap((f) => sourceFiles(join(ROOT, f)))) {
  const text = readFileSync(file, 'utf8');
  const targets = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(file), m[1] ?? m[2] ?? '')));
  graph.set(normalize(file), targets);
}

const cycles = new Set<string>();
const state = new Map<string, 'active' | 'done'>();
const visit = (file: string, path: string[]) => {
  state.set(file, 'active');
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'active') {
      const cycle = [...path.slice(path.indexOf(next)), next].map((f) => relative(ROOT, f));
      cycles.add(cycle.join(' -> '));
    } else if (!state.has(next) && graph.has(next)) {
      visit(next, [...path, next]);
    }
  }
  state.set(file, 'done');
};
for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);

if (cycles.size > 0) {
  console.error(`Circular imports (${cycles.size}):\n  ${[...cycles].join('\n  ')}`);
  process.exit(1);
}
console.log(`No circular imports among ${graph.size} files.`);
