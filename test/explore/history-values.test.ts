import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { KeyHistory } from '../../engine/api/contract.ts';
import { ChangeLog, Timeline, VersionTable } from '../../renderer/src/views/HistoryView.tsx';

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

// A bridge row's last_effective_date is its last day, included; the bar is drawn through the end of that
// day but labelled as the table below it shows the row, not with the exclusive end.
const bridge: KeyHistory = {
  model: 'gold.bridge_user_plan',
  kind: 'bridge',
  keyColumns: ['user_id'],
  memberColumn: 'plan_id',
  columns: [
    { name: 'plan_id', type: 'VARCHAR' },
    { name: 'first_effective_date', type: 'DATE' },
    { name: 'last_effective_date', type: 'DATE' },
  ],
  lanes: [
    {
      label: 'Basic',
      versions: [
        {
          validFrom: '2022-06-01',
          validTo: '2022-06-02',
          current: false,
          row: { plan_id: 'Basic', first_effective_date: '2022-06-01', last_effective_date: '2022-06-01' },
          changed: [],
        },
      ],
    },
    {
      label: 'Premium',
      versions: [
        {
          validFrom: '2022-06-02',
          validTo: null,
          current: true,
          row: { plan_id: 'Premium', first_effective_date: '2022-06-02', last_effective_date: null },
          changed: [],
        },
      ],
    },
  ],
  breaks: [],
  changes: [],
  latestDate: '2022-06-03',
};

const bars = (html: string) =>
  [
    ...html.matchAll(
      /<span class="version-bar[^"]*"[^>]*style="([^"]*)"[^>]*title="([^"]*)"[^>]*>([^<]*)<\/span>/g,
    ),
  ].map((m) => ({ style: m[1], title: m[2], text: m[3] }));

describe("the history view's timeline", () => {
  it("labels a bridge bar with the last effective day the table shows, drawn through that day's end", () => {
    const html = renderToStaticMarkup(createElement(Timeline, { history: bridge }));
    const [basic, premium] = bars(html);
    expect(basic?.text).toBe('2022-06-01 → 2022-06-01');
    expect(basic?.title).toContain('2022-06-01 → 2022-06-01');
    expect(premium?.text).toBe('2022-06-02 → open');
    // Three days on the axis (06-01 to the end of 06-03): Basic covers the whole first day, a third.
    expect(basic?.style).toContain('left:0%');
    expect(basic?.style).toContain('width:calc(33.33333333333333% - 0% - 2px)');
    // The same day as the version table shows for the row.
    expect(cells(renderToStaticMarkup(createElement(VersionTable, { history: bridge })))).toContain(
      '2022-06-01',
    );
  });

  it('labels an SCD2 bar with valid_to as the table shows it (exclusive there too)', () => {
    const scd2: KeyHistory = {
      ...bridge,
      model: 'gold.dim_user_history',
      kind: 'scd2',
      memberColumn: null,
      lanes: [
        {
          label: '00012345',
          versions: [
            { validFrom: '2022-06-01', validTo: '2022-06-02', current: false, row: {}, changed: [] },
          ],
        },
      ],
    };
    expect(bars(renderToStaticMarkup(createElement(Timeline, { history: scd2 })))[0]?.text).toBe(
      '2022-06-01 → 2022-06-02',
    );
  });
});
