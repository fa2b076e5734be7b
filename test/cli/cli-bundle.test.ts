import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBundle } from '../../bin/cli-bundle.js';
import { lakehouse } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// bin/cli-bundle.js on a small stand-in for the CLI's sources in a folder of its own (the real sources are
// read by every other test file's commands): a main that imports a module using import.meta and loads
// another lazily, as cli/main.ts loads each command.
describe('the bundled command line', () => {
  let root: string;
  let cache: string;
  const where = () => join(root, 'lib', 'where.ts');
  // A build keeps its record only of files older than its start: wait past the write's millisecond.
  const writeWhere = async (version: string) => {
    await writeFile(
      where(),
      `export const found = { url: import.meta.url, dir: import.meta.dirname, version: '${version}' };\n`,
    );
    await sleep(5);
  };
  /** Imports a build's entry, which leaves what it found in a global. */
  const load = async (url: string) => {
    await import(url);
    return (globalThis as { bundleTest?: Record<string, unknown> }).bundleTest;
  };
  const builds = async () => (await readdir(cache)).filter((n) => /^build-\d+-[0-9a-f]+$/.test(n)).sort();

  beforeAll(async () => {
    root = await tempDir();
    cache = join(root, 'cache');
    await mkdir(join(root, 'cli'));
    await mkdir(join(root, 'lib'));
    await writeWhere('one');
    await writeFile(join(root, 'cli', 'lazy.ts'), "export const lazy: string = 'loaded when asked';\n");
    await writeFile(
      join(root, 'cli', 'main.ts'),
      `import { found } from '../lib/where.ts';
const { lazy } = await import('./lazy.ts');
(globalThis as { bundleTest?: unknown }).bundleTest = { ...found, lazy };
`,
    );
    await sleep(5);
  });
  afterAll(() => removeDir(root));

  it('builds once, keeps each module its own location, and reuses the build while the sources stay', async () => {
    const url = await cliBundle(root, cache);
    expect(url).toMatch(/\/build-\d+-[0-9a-f]+\/main\.mjs$/);
    expect(await load(url!)).toEqual({
      url: pathToFileURL(where()).href,
      dir: join(root, 'lib'),
      version: 'one',
      lazy: 'loaded when asked',
    });
    // The lazy import is a chunk of its own, as each command's code is.
    const modules = (await readdir(join(cache, (await builds())[0]!))).filter((n) => n.endsWith('.mjs'));
    expect(modules).toHaveLength(2);
    expect(await cliBundle(root, cache)).toBe(url);
    expect(await builds()).toHaveLength(1);
  });

  it('builds again when a source changes, even to the same size, and forgets builds older than a day', async () => {
    const before = await cliBundle(root, cache);
    await writeWhere('two');
    const edited = await cliBundle(root, cache);
    expect(edited).not.toBe(before);
    expect(await load(edited!)).toMatchObject({ version: 'two' });
    expect(await cliBundle(root, cache)).toBe(edited);

    // Touched without a change in size: built again all the same.
    const old = new Date(Date.now() - 3 * 24 * 60 * 60 * 1000);
    const [first] = await builds();
    await utimes(join(cache, first!), old, old);
    await utimes(where(), new Date(Date.now() - 1000), new Date(Date.now() - 1000));
    const touched = await cliBundle(root, cache);
    expect(touched).not.toBe(edited);
    // The three-day-old build is removed; the one of a moment ago stays for commands still loading from it.
    expect(existsSync(join(cache, first!))).toBe(false);
    expect(await builds()).toHaveLength(2);

    // How esbuild compiles the sources is an input too.
    await writeFile(join(root, 'tsconfig.json'), '{ "compilerOptions": {} }\n');
    await sleep(5);
    const configured = await cliBundle(root, cache);
    expect(configured).not.toBe(touched);
    expect(await cliBundle(root, cache)).toBe(configured);
  });

  it('does not keep a build whose sources changed while it ran, and gives up where it cannot build', async () => {
    // A modification time after the build started: the file may have been saved as it was read.
    const later = new Date(Date.now() + 60 * 60 * 1000);
    await utimes(where(), later, later);
    const once = await cliBundle(root, cache);
    const again = await cliBundle(root, cache);
    expect(once).toBeDefined();
    expect(again).not.toBe(once);
    await utimes(where(), new Date(Date.now() - 1000), new Date(Date.now() - 1000));

    // A source that no longer resolves, or a cache that cannot be written: no bundle, the caller uses tsx.
    await rm(join(root, 'cli', 'lazy.ts'));
    expect(await cliBundle(root, cache)).toBeUndefined();
    await writeFile(join(root, 'cli', 'lazy.ts'), "export const lazy: string = 'back';\n");
    await sleep(5);
    const blocked = join(root, 'not-a-folder');
    await writeFile(blocked, '');
    expect(await cliBundle(root, blocked)).toBeUndefined();
    expect(await cliBundle(root, cache)).toBeDefined();
  });

  it('bundles the packages every command loads, leaves the others outside, and builds again after an install', async () => {
    // Stand-ins: `yaml` (a bundled package, CommonJS requiring a Node module and a package left outside)
    // and `left-out`, which is not bundled.
    const modules = join(root, 'node_modules');
    const writePackage = async (name: string, version: string, main: string) => {
      await mkdir(join(modules, name), { recursive: true });
      await writeFile(
        join(modules, name, 'package.json'),
        JSON.stringify({ name, version, main: 'index.js' }),
      );
      await writeFile(join(modules, name, 'index.js'), main);
    };
    await writePackage('left-out', '1.0.0', "exports.outside = 'left out';\n");
    await writePackage(
      'yaml',
      '1.0.0',
      "const { sep } = require('node:path');\nexports.inside = 'bundled' + sep + require('left-out').outside;\n",
    );
    await writeFile(join(modules, '.package-lock.json'), '{}');
    await writeFile(
      join(root, 'cli', 'main.ts'),
      `import { found } from '../lib/where.ts';
import { inside } from 'yaml';
const { lazy } = await import('./lazy.ts');
(globalThis as { bundleTest?: unknown }).bundleTest = { ...found, lazy, inside };
`,
    );
    await sleep(5);
    const url = await cliBundle(root, cache);
    expect(await load(url!)).toMatchObject({ inside: 'bundled/left out' });
    const build = join(cache, url!.split('/').at(-2)!);
    const code = (
      await Promise.all(
        (await readdir(build)).filter((n) => n.endsWith('.mjs')).map((n) => readFile(join(build, n), 'utf8')),
      )
    ).join('\n');
    expect(code).toContain('"bundled" + sep');
    expect(code).not.toContain('"left out"');
    // Recorded by its package.json and npm's record of the install, not by each of its files.
    const record = JSON.parse(await readFile(join(cache, 'current.json'), 'utf8')) as { inputs: [string][] };
    expect(
      record.inputs
        .map(([path]) => path)
        .filter((path) => path.includes('node_modules'))
        .sort(),
    ).toEqual(['node_modules/.package-lock.json', 'node_modules/yaml/package.json']);
    expect(await cliBundle(root, cache)).toBe(url);

    // An update of the package (its version), or any install (npm rewrites its record): built again.
    await writePackage('yaml', '1.0.1', "exports.inside = 'updated';\n");
    await sleep(5);
    const updated = await cliBundle(root, cache);
    expect(updated).not.toBe(url);
    expect(await load(updated!)).toMatchObject({ inside: 'updated' });
    await writeFile(join(modules, '.package-lock.json'), '{ }');
    await sleep(5);
    expect(await cliBundle(root, cache)).not.toBe(updated);
  });

  it('the real command line answers the same bundled and from its TypeScript', () => {
    const bundled = lakehouse('--version');
    const source = lakehouseFromSource('--version');
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toMatch(/^lakehouse \d+\.\d+\.\d+\n$/);
    expect(source).toEqual(bundled);
  });
});

function lakehouseFromSource(...args: string[]) {
  const previous = process.env.LAKEHOUSE_CLI_SOURCE;
  process.env.LAKEHOUSE_CLI_SOURCE = '1';
  try {
    return lakehouse(...args);
  } finally {
    if (previous === undefined) delete process.env.LAKEHOUSE_CLI_SOURCE;
    else process.env.LAKEHOUSE_CLI_SOURCE = previous;
  }
}
