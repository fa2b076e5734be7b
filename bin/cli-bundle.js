// The command line as plain JavaScript: its TypeScript bundled with esbuild, cached in node_modules/.cache and
// rebuilt when a file it was built from changes. Loading ~150 modules through tsx cost about 0.45 s of every
// command's start (BENCHMARKS.md, "Command-line start"); a build takes about 0.15 s, once per change.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(import.meta.dirname, '..');
const ENTRY = 'main.mjs';
// The record of the current build (current.json) names it and its inputs; one of another form means build again.
const RECORD_FORMAT = 2;
// Builds the record no longer names are removed once they are this old: a command started before a rebuild
// may still load its lazily imported chunks from one.
const STALE_BUILD_MS = 24 * 60 * 60 * 1000;

/**
 * The URL of the bundled CLI's entry (`cli/main.ts` under `root`), built first when missing or older than its
 * sources; undefined when it cannot be built or cached (no esbuild, a read-only checkout), and the caller loads
 * the TypeScript instead.
 */
export async function cliBundle(root = REPO, cache = join(root, 'node_modules', '.cache', 'lakehouse-cli')) {
  try {
    const current = readRecord(cache);
    if (current && isFresh(root, cache, current))
      return pathToFileURL(join(cache, current.build, ENTRY)).href;
    return pathToFileURL(await build(root, cache)).href;
  } catch {
    return undefined;
  }
}

function readRecord(cache) {
  try {
    return JSON.parse(readFileSync(join(cache, 'current.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every input still has the size and modification time it had when the build read it. */
function isFresh(root, cache, record) {
  if (record.format !== RECORD_FORMAT || !Array.isArray(record.inputs) || typeof record.build !== 'string')
    return false;
  try {
    statSync(join(cache, record.build, ENTRY));
    return record.inputs.every(([path, size, mtimeMs]) => {
      const [nowSize, nowMtimeMs] = sizeAndTime(join(root, path));
      return nowSize === size && nowMtimeMs === mtimeMs;
    });
  } catch {
    return false;
  }
}

async function build(root, cache) {
  const { build: esbuild } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  const started = Date.now();
  const name = `build-${started}-${randomBytes(4).toString('hex')}`;
  const partial = join(cache, `${name}.partial`);
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: [join(root, 'cli', 'main.ts')],
    outdir: partial,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Each command's `await import(...)` stays a chunk of its own, loaded only when that command runs.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    // Bundled CommonJS code calls require() for Node's modules and the packages left outside.
    banner: {
      js: "import { createRequire as __cliRequire } from 'node:module'; const require = __cliRequire(import.meta.url);",
    },
    plugins: [sourceLocations, outsidePackages],
  });
  renameSync(partial, join(cache, name));
  // Besides the modules: how esbuild compiles them (tsconfig.json, also when absent: one may appear), which
  // packages npm installed, and how they are bundled (this file).
  const settings = [
    join(root, 'tsconfig.json'),
    join(root, 'node_modules', '.package-lock.json'),
    fileURLToPath(import.meta.url),
  ].map((f) => relative(root, f));
  const inputs = [...new Set([...Object.keys(result.metafile.inputs).map(asInput), ...settings])].map(
    (path) => [path, ...sizeAndTime(join(root, path))],
  );
  // A file saved while the build read it may be in the bundle as it was before: use this build once,
  // and build again next time.
  if (inputs.every(([, , mtimeMs]) => mtimeMs < started)) {
    const next = join(cache, `${name}.record`);
    writeFileSync(next, JSON.stringify({ format: RECORD_FORMAT, build: name, inputs }));
    renameSync(next, join(cache, 'current.json'));
  }
  removeOldBuilds(cache, name);
  return join(cache, name, ENTRY);
}

/**
 * What a bundled module is recorded as: itself, or for a package's module the package's package.json (its
 * version) and npm's record of the whole install (node_modules/.package-lock.json, rewritten by every
 * install): hundreds of package files need not be compared on every start.
 */
function asInput(path) {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return path;
  return `${path.slice(0, at)}node_modules/${packageOf(path.slice(at + 'node_modules/'.length))}/package.json`;
}

/** The package a bare specifier or a path inside node_modules names: `yaml`, `@duckdb/node-api`. */
function packageOf(specifier) {
  const [scope, name] = specifier.split('/');
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

/** A file's size and modification time; -1 and -1 for a file that is not there. */
function sizeAndTime(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? [stat.size, stat.mtimeMs] : [-1, -1];
}

/**
 * Each module keeps its own location: the code finds files next to its source (the example projects, the
 * keyword matcher's worker sources, package.json, the app's renderer) from `import.meta`, which in a bundle
 * would name the bundle's folder instead.
 */
const sourceLocations = {
  name: 'source-locations',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      return {
        loader: 'ts',
        contents: text
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path)),
      };
    });
  },
};

// The packages every command loads, bundled: loading them from node_modules cost about 0.15 s of each start
// (@duckdb/node-api alone is 124 CommonJS files). The others stay outside: native code, files found next to
// their own sources, and large ones only some commands load (AWS, PostgreSQL, Arrow).
const BUNDLED_PACKAGES = new Set(['@duckdb/node-api', 'yaml', 'zod']);

const outsidePackages = {
  name: 'outside-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (BUNDLED_PACKAGES.has(packageOf(args.path))) return undefined;
      return { path: args.path, external: true };
    });
  },
};

function removeOldBuilds(cache, keep) {
  const current = readRecord(cache)?.build;
  for (const entry of readdirSync(cache)) {
    if (!entry.startsWith('build-') || entry === keep || entry === current) continue;
    const path = join(cache, entry);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_BUILD_MS)
        rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another command building at the same time.
    }
  }
}
