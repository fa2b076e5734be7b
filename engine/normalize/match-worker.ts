// Worker-thread entry of the parallel matcher. It lives across calls: it keeps the index of the last
// catalog it was sent (the search part, posted once) and its optimised code, so only the first call
// pays for them. Bundled to plain JavaScript before use (see parallel-match.ts).
import { parentPort } from 'node:worker_threads';
import { searchSlugs, type TitleIndex } from './matcher.ts';
import type { WorkerReply, WorkerRequest } from './parallel-match.ts';

let catalog: { id: number; index: TitleIndex } | undefined;

parentPort?.on('message', (request: WorkerRequest) => {
  if (request.index !== undefined) catalog = { id: request.catalogId, index: request.index };
  if (catalog?.id !== request.catalogId) throw new Error(`match worker has no catalog ${request.catalogId}`);
  const found = searchSlugs(catalog.index, request.slugs);
  const reply: WorkerReply = { jobId: request.jobId, ...found };
  // Moved, not copied: the arrays are this job's alone (and made here, so never shared memory).
  parentPort?.postMessage(reply, [found.title.buffer as ArrayBuffer, found.score.buffer as ArrayBuffer]);
});
