import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type CatalogTitle, type KeywordMatch, matchKeywords, type TitleIndex } from './matcher.ts';

export interface ParallelMatchOptions {
  threshold?: number;
  /** Below this many keywords, matching stays on the calling thread (a worker costs ~0.3 s to start). */
  minKeywordsPerWorker?: number;
  /** Threads to use in all, the calling one included; default: the machine's cores. */
  threads?: number;
}

/**
 * Matches keywords on several cores: the calling thread takes one share, worker threads the others,
 * each worker with its own index built from `titles`. Results equal `matchKeywords` on one thread,
 * in the same order.
 */
export async function matchKeywordsInParallel(
  index: TitleIndex,
  titles: readonly CatalogTitle[],
  keywords: readonly string[],
  options: ParallelMatchOptions = {},
): Promise<KeywordMatch[]> {
  const minPerWorker = options.minKeywordsPerWorker ?? 20_000;
  const threads = Math.max(
    1,
    Math.min(options.threads ?? availableParallelism(), Math.floor(keywords.length / minPerWorker)),
  );
  if (threads <= 1) return matchKeywords(index, keywords, { threshold: options.threshold });

  const size = Math.ceil(keywords.length / threads);
  const shares = Array.from({ length: threads }, (_, i) => keywords.slice(i * size, (i + 1) * size));
  const script = await workerScript();
  const fromWorkers = shares.slice(1).map(
    (share) =>
      new Promise<KeywordMatch[]>((resolve, reject) => {
        const worker = new Worker(script, {
          workerData: { titles, keywords: share, threshold: options.threshold },
        });
        worker.once('message', (result: KeywordMatch[]) => {
          resolve(result);
          void worker.terminate();
        });
        worker.once('error', reject);
      }),
  );
  // The calling thread matches the first share while the workers match theirs.
  const own = matchKeywords(index, shares[0] ?? [], { threshold: options.threshold });
  return [own, ...(await Promise.all(fromWorkers))].flat();
}

let bundled: Promise<string> | undefined;

/**
 * The worker as one plain JavaScript file: worker threads cannot load TypeScript through the loader
 * the CLI and tests use, so the entry is bundled with esbuild once per source version and cached.
 */
function workerScript(): Promise<string> {
  bundled ??= (async () => {
    const entry = fileURLToPath(new URL('./match-worker.ts', import.meta.url));
    const sources = await Promise.all(
      ['./match-worker.ts', './matcher.ts', './slug.ts'].map((f) =>
        readFile(fileURLToPath(new URL(f, import.meta.url))),
      ),
    );
    const digest = createHash('sha256').update(Buffer.concat(sources)).digest('hex').slice(0, 12);
    const dir = join(tmpdir(), 'lakehouse-explorer');
    const out = join(dir, `match-worker-${digest}.mjs`);
    if (!existsSync(out)) {
      await mkdir(dir, { recursive: true });
      const { build } = await import('esbuild');
      const partial = `${out}.${process.pid}.tmp`;
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: partial,
        logLevel: 'silent',
      });
      await rename(partial, out);
    }
    return out;
  })();
  bundled.catch(() => {
    bundled = undefined;
  });
  return bundled;
}
