import { Worker } from 'node:worker_threads';
import { type SlugSearch, searchPart, type TitleIndex } from '../../engine/normalize/matcher.ts';
import type { WorkerReply } from '../../engine/normalize/parallel-match.ts';

/** Starts a match worker from `script`, has it search `slugs` once, as the engine does, and stops it. */
export async function searchInWorker(
  script: string,
  index: TitleIndex,
  slugs: readonly string[],
): Promise<SlugSearch> {
  const worker = new Worker(script);
  try {
    return await new Promise<WorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ jobId: 1, catalogId: 1, index: searchPart(index), slugs });
    });
  } finally {
    await worker.terminate();
  }
}
