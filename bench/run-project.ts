// Benchmark worker: runs a project's pipeline in its own process and prints one JSON line with timings
// per layer and the process's peak RSS, so each measurement has a clean memory baseline.
import { parseArgs } from 'node:util';
import { createEngine } from '../engine/engine.ts';

const { values } = parseArgs({
  options: {
    project: { type: 'string' },
    'memory-limit': { type: 'string' },
    date: { type: 'string', multiple: true },
    select: { type: 'string', multiple: true },
  },
});
if (!values.project) throw new Error('--project is required');
const engine = await createEngine({ projectDir: values.project, memoryLimit: values['memory-limit'] });
const started = performance.now();
const summary = await engine.run({ dates: values.date, select: values.select });
const wallMs = performance.now() - started;
engine.close();
const layers: Record<string, { ms: number; rows: number }> = {};
for (const m of summary.models) {
  const layer = m.model.split('.')[0] ?? 'other';
  const entry = layers[layer] ?? { ms: 0, rows: 0 };
  entry.ms += m.durationMs;
  if (
    m.model === 'bronze.customer_search' ||
    m.model === 'silver.customer_search' ||
    m.model === 'gold.fact_customer_search'
  ) {
    entry.rows += m.rowsOut;
  }
  layers[layer] = entry;
}
process.stdout.write(
  `${JSON.stringify({
    status: summary.status,
    error: summary.error?.message,
    wallMs,
    layers,
    models: Object.fromEntries(
      [...new Set(summary.models.map((m) => m.model))].map((id) => [
        id,
        summary.models.filter((m) => m.model === id).reduce((s, m) => s + m.durationMs, 0),
      ]),
    ),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
