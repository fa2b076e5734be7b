import { describe, expect, it } from 'vitest';
import { buildTitleCatalog } from '../../engine/generate/titles.ts';
import { buildTitleIndex, matchKeywords } from '../../engine/normalize/matcher.ts';
import { matchKeywordsInParallel, threadsFor } from '../../engine/normalize/parallel-match.ts';

describe('matching on several threads', () => {
  const titles = buildTitleCatalog(2000, 3).map((t) => ({ title: t.title, genres: t.genres }));
  // Real-looking keywords: titles with accents stripped, cut short, typed with a typo, plus noise.
  const keywords = titles.flatMap((t, i) => [
    t.title.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase(),
    t.title.slice(0, Math.max(4, t.title.length - 3)),
    `${t.title.slice(0, 3)}x${t.title.slice(4)}`,
    `query ${i}`,
  ]);

  it('gives exactly the single-thread results, in the same order, with every thread taking chunks', async () => {
    const index = buildTitleIndex(titles);
    const single = matchKeywords(index, keywords);
    const byThread = [0, 0, 0];
    const parallel = await matchKeywordsInParallel(index, titles, keywords, {
      minKeywordsPerWorker: 1000,
      threads: 3,
      onChunk: (thread, count) => {
        byThread[thread] = (byThread[thread] ?? 0) + count;
      },
    });
    expect(parallel).toHaveLength(keywords.length);
    expect(parallel).toEqual(single);
    expect(single.filter((m) => m.matched).length).toBeGreaterThan(keywords.length / 2);
    // Each keyword matched once, and the queue kept all three threads busy.
    expect(byThread.reduce((a, b) => a + b, 0)).toBe(keywords.length);
    for (const count of byThread) expect(count).toBeGreaterThan(0);
  });

  it('keeps its workers between calls and switches catalogs without mixing them up', async () => {
    const other = titles.slice(500, 1500).map((t) => ({ ...t, title: `${t.title} phần 2` }));
    const options = { minKeywordsPerWorker: 1000, threads: 2 };
    const first = buildTitleIndex(titles);
    const second = buildTitleIndex(other);
    for (const [index, catalog] of [
      [first, titles],
      [second, other],
      [first, titles],
    ] as const) {
      const parallel = await matchKeywordsInParallel(index, catalog, keywords, options);
      expect(parallel).toEqual(matchKeywords(index, keywords));
    }
  });

  it('stays on the calling thread for small batches', async () => {
    const index = buildTitleIndex(titles);
    const few = keywords.slice(0, 50);
    expect(await matchKeywordsInParallel(index, titles, few)).toEqual(matchKeywords(index, few));
  });

  it('uses warm workers for batches too small to be worth starting them for', async () => {
    const fresh = buildTitleIndex(titles.slice(0, 1500));
    const catalog = titles.slice(0, 1500);
    expect(threadsFor(fresh, 5000, { threads: 2 })).toBe(1);
    await matchKeywordsInParallel(fresh, catalog, keywords, { minKeywordsPerWorker: 1000, threads: 2 });
    expect(threadsFor(fresh, 5000, { threads: 2 })).toBe(2);
    const few = keywords.slice(0, 5000);
    expect(await matchKeywordsInParallel(fresh, catalog, few, { threads: 2 })).toEqual(
      matchKeywords(fresh, few),
    );
  });
});
