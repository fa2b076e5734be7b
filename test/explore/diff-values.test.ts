import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { TableDiff } from '../../engine/api/contract.ts';
import { TableDiffView } from '../../renderer/src/views/ModelEditorView.tsx';

// The editor's diff shows values as the table grid does: a timestamp with its milliseconds (DuckDB's
// text drops trailing zeros), numbers aligned as numbers and each column's type under its name.

const diff: TableDiff = {
  table: 'gold.fact_customer_search',
  key: ['event_id'],
  rowsBefore: 1,
  rowsAfter: 2,
  added: 1,
  removed: 0,
  changed: 1,
  changedColumns: { datetime_log: 1 },
  addedColumns: [],
  removedColumns: [],
  columnTypes: { event_id: 'VARCHAR', datetime_log: 'TIMESTAMP', platform_key: 'BIGINT' },
  addedExamples: [{ event_id: 'e2', datetime_log: '2022-06-02 23:59:00', platform_key: 7 }],
  removedExamples: [],
  changedExamples: [
    {
      key: { event_id: 'e1' },
      before: { event_id: 'e1', datetime_log: '2022-06-02 14:28:19.48', platform_key: 3 },
      after: { event_id: 'e1', datetime_log: '2022-06-02 15:28:19.48', platform_key: 3 },
      columns: ['datetime_log'],
    },
  ],
};

describe("the editor's diff of a table", () => {
  const html = renderToStaticMarkup(createElement(TableDiffView, { diff }));

  it("shows a changed timestamp's before and after with milliseconds", () => {
    expect(html).toContain('<span class="diff-before">2022-06-02 14:28:19.480</span>');
    expect(html).toContain('<span class="diff-after">2022-06-02 15:28:19.480</span>');
  });

  it('shows added rows typed: the timestamp with milliseconds, the key as a number, each type named', () => {
    expect(html).toContain('>2022-06-02 23:59:00.000</td>');
    expect(html).toMatch(/<td [^>]*class="vgrid-cell num"[^>]*>7<\/td>/);
    expect(html).toContain('<span class="grid-col-type">TIMESTAMP</span>');
  });
});
