import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { appOnGeneratedProject } from '../helpers/app-dispatcher.ts';

// A silver table is a view over the lake's Parquet files: one deleted while the app is open failed the
// table explorer with DuckDB's bare IO error as INTERNAL, naming neither the table nor what to do.

describe('the table explorer over a lake file deleted while the project is open', () => {
  const app = appOnGeneratedProject('lakehouse-explorer-file-gone-', 50, { runFirst: true });

  it('fails as QUERY_ERROR naming the table and what to do', async () => {
    const folder = join(app.dir, 'lake', 'silver', 'customer_search');
    const files = await readdir(folder, { recursive: true });
    const parquet = files.filter((f) => f.endsWith('.parquet'));
    expect(parquet.length).toBeGreaterThan(0);
    for (const file of parquet) await rm(join(folder, file));

    for (const [method, input] of [
      ['table.window', { table: 'silver.customer_search' }],
      ['table.profile', { table: 'silver.customer_search', column: 'keyword_category' }],
    ] as const) {
      const error = await app.dispatcher.call(method, input).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, method).toBeInstanceOf(LakehouseError);
      expect((error as LakehouseError).code, method).toBe('QUERY_ERROR');
      expect((error as LakehouseError).details, method).toMatchObject({ table: 'silver.customer_search' });
      expect((error as LakehouseError).message, method).toMatch(
        /^Reading silver\.customer_search: IO Error: No files found .*\. A file of its lake was deleted or moved outside the engine: put it back, or open the project again/,
      );
    }
  });
});
