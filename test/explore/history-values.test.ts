import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { KeyHistory } from '../../engine/api/contract.ts';
import { ChangeLog, VersionTable } from '../../renderer/src/views/HistoryView.tsx';

// The history view's tables show values as the table explorer's grid does: a timestamp with its
// milliseconds, trailing zeros included (DuckDB's text drops them: 14:28:19.48, 23:59:00).

const history: KeyHistory = {
  model: 'gold.dim_user',
  kind: 'scd1',
  keyColumns: ['user_id'],
  memberColumn: null,
  columns: [
    { name: 'user_id', type: 'VARCHAR' },
    { name: 'last_login', type: 'TIMESTAMP' },
  ],
  lanes: [
    {
      label: '00012345',
      versions: [
        {
          validFrom: null,
          validTo: null,
          current: true,
          row: { user_id: '00012345', last_login: '2022-06-02 14:28:19.48' },
          changed: [],
        },
      ],
    },
  ],
  breaks: [],
  changes: [
    {
      runId: 'r1',
      etlDate: '2022-06-02',
      kind: 'update',
      column: 'last_login',
      before: '2022-06-01 23:59:00',
      after: '2022-06-02 14:28:19.48',
    },
  ],
};

const cells = (html: string) => [...html.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);

describe("the history view's tables", () => {
  it('show a version timestamp with milliseconds, as the grid does', () => {
    expect(cells(renderToStaticMarkup(createElement(VersionTable, { history })))).toEqual([
      '00012345',
      '2022-06-02 14:28:19.480',
    ]);
  });

  it("show a changed timestamp's before and after with milliseconds", () => {
    const shown = cells(renderToStaticMarkup(createElement(ChangeLog, { history })));
    expect(shown.slice(-2)).toEqual(['2022-06-01 23:59:00.000', '2022-06-02 14:28:19.480']);
  });
});
