import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildTitleCatalog } from '../../engine/generate/titles.ts';
import {
  buildTitleIndex,
  matchKeywords,
  matchOfSearch,
  type SlugSearch,
  searchPart,
  searchSlugs,
  type TitleIndex,
} from '../../engine/normalize/matcher.ts';
import {
  bundleWorker,
  readWorkerSources,
  searchSlugsInParallel,
  threadsFor,
  workerScript,
  workerScriptBeside,
} from '../../engine/normalize/parallel-match.ts';
import { slugify } from '../../engine/normalize/slug.ts';
import { searchInWorker } from '../helpers/match-worker.ts';

describe('searching on several threads', () => {
  const titles = buildTitleCatalog(2000, 3).map((t) => ({ title: t.title, genres: t.genres }));
  // Real-looking keywords: titles with accents stripped, cut short, typed with a typo, plus noise.
  const keywords = titles.flatMap((t, i) => [
    t.title.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase(),
    t.title.slice(0, Math.max(4, t.title.length - 3)),
    `${t.title.slice(0, 3)}x${t.title.slice(4)}`,
    `query ${i}`,
  ]);
  const slugs = [...new Set(keywords.map((k) => slugify(k)).filter((s) => s !== null))].sort();
  const asArrays = (found: SlugSearch) => ({ title: [...found.title], score: [...found.score] });

  it('gives exactly the single-thread results, in the same order, with every thread taking chunks', async () => {
    const index = buildTitleIndex(titles);
    const single = searchSlugs(index, slugs);
    const byThread = [0, 0, 0];
    const parallel = await searchSlugsInParallel(index, slugs, {
      minSlugsPerWorker: 1000,
      threads: 3,
      onChunk: (thread, count) => {
        byThread[thread] = (byThread[thread] ?? 0) + count;
      },
    });
    expect(parallel.title).toHaveLength(slugs.length);
    expect(asArrays(parallel)).toEqual(asArrays(single));
    // The answers are matchKeywords' own: the same title, score and acceptance for every slug.
    const matches = matchKeywords(index, slugs);
    expect(slugs.map((s, i) => matchOfSearch(index, s, parallel.title[i]!, parallel.score[i]!))).toEqual(
      matches.map(({ keyword: _, ...m }) => m),
    );
    expect(matches.filter((m) => m.matched).length).toBeGreaterThan(slugs.length / 2);
    // Each slug searched once, and the queue kept all three threads busy.
    expect(byThread.reduce((a, b) => a + b, 0)).toBe(slugs.length);
    for (const count of byThread) expect(count).toBeGreaterThan(0);
  });

  it('keeps its workers between calls and switches catalogs without mixing them up', async () => {
    const other = titles.slice(500, 1500).map((t) => ({ ...t, title: `${t.title} phần 2` }));
    const options = { minSlugsPerWorker: 1000, threads: 2 };
    const first = buildTitleIndex(titles);
    const second = buildTitleIndex(other);
    for (const index of [first, second, first] as TitleIndex[]) {
      const parallel = await searchSlugsInParallel(index, slugs, options);
      expect(asArrays(parallel)).toEqual(asArrays(searchSlugs(index, slugs)));
    }
  });

  it('stays on the calling thread for small batches', async () => {
    const index = buildTitleIndex(titles);
    const few = slugs.slice(0, 50);
    expect(asArrays(await searchSlugsInParallel(index, few))).toEqual(asArrays(searchSlugs(index, few)));
  });

  it('uses warm workers for batches too small to be worth starting them for', async () => {
    const fresh = buildTitleIndex(titles.slice(0, 1500));
    expect(threadsFor(fresh, 5000, { threads: 2 })).toBe(1);
    await searchSlugsInParallel(fresh, slugs, { minSlugsPerWorker: 1000, threads: 2 });
    expect(threadsFor(fresh, 5000, { threads: 2 })).toBe(2);
    const few = slugs.slice(0, 5000);
    expect(asArrays(await searchSlugsInParallel(fresh, few, { threads: 2 }))).toEqual(
      asArrays(searchSlugs(fresh, few)),
    );
  });

  it("bundles its worker from the sources' text alone, and names a source left out of the list", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'match-worker-'));
    try {
      const folder = join(import.meta.dirname, '..', '..', 'engine', 'normalize');
      const texts = await readWorkerSources(folder);
      // esbuild gets text, never a path (a packaged app keeps the files in an archive it cannot read).
      const script = join(dir, 'worker.mjs');
      await bundleWorker(texts, script);
      expect(await readFile(script, 'utf8')).toContain('// worker-source:matcher.ts');
      const index = buildTitleIndex(titles);
      expect(asArrays(await searchInWorker(script, index, slugs))).toEqual(
        asArrays(searchSlugs(index, slugs)),
      );
      const withoutSlug = new Map(texts);
      withoutSlug.delete('slug.ts');
      await expect(bundleWorker(withoutSlug, join(dir, 'broken.mjs'))).rejects.toThrow(
        /slug\.ts is imported by the worker but not in WORKER_SOURCES/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('searches on the calling thread, and says why, when the worker cannot be made', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-worker-'));
    try {
      // A module with neither a prebuilt worker nor the worker's sources beside it.
      const beside = pathToFileURL(join(dir, 'main.js'));
      await expect(workerScriptBeside(beside)).rejects.toThrow(
        /the match worker cannot be made: neither .*match-worker\.mjs nor its source match-worker\.ts is readable/,
      );
      const index = buildTitleIndex(titles);
      const unavailable: Error[] = [];
      const byThread = [0, 0];
      const found = await searchSlugsInParallel(index, slugs, {
        threads: 2,
        minSlugsPerWorker: 100,
        workerScript: () => workerScriptBeside(beside),
        onWorkerUnavailable: (error) => unavailable.push(error),
        onChunk: (thread, n) => {
          byThread[thread]! += n;
        },
      });
      expect(asArrays(found)).toEqual(asArrays(searchSlugs(index, slugs)));
      expect(unavailable.map((e) => e.message)).toEqual([
        expect.stringMatching(/match worker cannot be made/),
      ]);
      // No chunks: the calling thread searched the whole list at once.
      expect(byThread).toEqual([0, 0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("searches a failing worker's chunks on the calling thread, says why, and starts a sound worker next time", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'failing-worker-'));
    try {
      const failing = join(dir, 'failing.mjs');
      await writeFile(
        failing,
        "import { parentPort } from 'node:worker_threads';\n" +
          "parentPort.on('message', () => { throw new Error('out of luck'); });\n",
      );
      const index = buildTitleIndex(titles);
      const unavailable: Error[] = [];
      const byThread = [0, 0];
      const options = {
        threads: 2,
        minSlugsPerWorker: 100,
        onWorkerUnavailable: (error: Error) => unavailable.push(error),
        onChunk: (thread: number, n: number) => {
          byThread[thread]! += n;
        },
      };
      const found = await searchSlugsInParallel(index, slugs, {
        ...options,
        workerScript: async () => failing,
      });
      expect(asArrays(found)).toEqual(asArrays(searchSlugs(index, slugs)));
      expect(unavailable.map((e) => e.message)).toEqual(['out of luck']);
      expect(byThread).toEqual([slugs.length, 0]);
      // The next call, with the real script, replaces the failed worker and uses it.
      byThread.fill(0);
      const again = await searchSlugsInParallel(index, slugs, options);
      expect(asArrays(again)).toEqual(asArrays(found));
      expect(unavailable).toHaveLength(1);
      expect(byThread[1]).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes its script again when the temp folder lost it, and leaves one file for calls at the same time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'worker-tmp-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const [first, second] = await Promise.all([workerScript(), workerScript()]);
      expect(second).toBe(first);
      expect(first.startsWith(join(dir, 'lakehouse-explorer'))).toBe(true);
      expect(await readdir(join(dir, 'lakehouse-explorer'))).toEqual([basename(first)]);
      // A system clean-up of the temp folder while the app runs.
      await rm(join(dir, 'lakehouse-explorer'), { recursive: true });
      expect(await workerScript()).toBe(first);
      expect(existsSync(first)).toBe(true);
      // Sources that do not bundle fail the making, naming the source esbuild stopped at.
      const broken = join(dir, 'broken');
      await mkdir(broken);
      const folder = join(import.meta.dirname, '..', '..', 'engine', 'normalize');
      for (const [file, text] of await readWorkerSources(folder)) await writeFile(join(broken, file), text);
      await writeFile(join(broken, 'slug.ts'), 'export function slugify(: string {');
      await expect(workerScriptBeside(pathToFileURL(join(broken, 'main.js')))).rejects.toThrow(/slug\.ts/);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends workers an index that searches like the whole one but cannot name titles', () => {
    const index = buildTitleIndex(titles);
    const part = searchPart(index);
    expect(asArrays(searchSlugs(part, slugs))).toEqual(asArrays(searchSlugs(index, slugs)));
    expect(() => matchOfSearch(part, slugs[0]!, 0, 1)).toThrow(/cannot name titles/);
  });
});
