import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { GraphNodeState, ModelInfo, ModelRunRecord } from '../../engine/api/contract.ts';
import { historyHeldNote } from '../../engine/api/history-notes.ts';
import { cardFromGraph, cardFromRecord } from '../../renderer/src/views/pipeline/cards.ts';
import { ModelCard } from '../../renderer/src/views/pipeline/ModelCard.tsx';
import { ModelDetails } from '../../renderer/src/views/pipeline/ModelDetails.tsx';

// A model card while a run goes on, rendered to markup from the record of the date it just did.

const model: ModelInfo = {
  id: 'gold.dim_user_history',
  layer: 'gold',
  name: 'dim_user_history',
  file: 'models/gold/dim_user_history.sql',
  materialized: 'scd2',
  role: 'dimension',
  description: null,
  uniqueKey: ['user_id'],
  upstream: ['silver.user_plans_map'],
  sources: [],
  relationships: [],
};

function record(etlDate: string, rowsOut: number, warnings: string[]): ModelRunRecord {
  return {
    model: model.id,
    etlDate,
    status: 'success',
    rowsIn: rowsOut,
    rowsOut,
    duplicatesRemoved: 0,
    quarantined: 0,
    durationMs: 12,
    tests: [],
    warnings,
  };
}

/** The card's rows figure as a user reads it. */
function rowsShown(r: ModelRunRecord): string {
  const html = renderToStaticMarkup(
    createElement(ModelCard, {
      model,
      state: cardFromRecord(r),
      focused: false,
      onFocus: () => {},
      style: {},
    }),
  );
  const span = /<span data-testid="card-rows"[^>]*>(.*?)<\/span>/.exec(html);
  return (span?.[1] ?? '').replace(/<!-- -->/g, '');
}

describe('a history model card during a run of several dates', () => {
  it("shows a date that leaves the history for the run's replay as waiting for it, not as 0 rows written", () => {
    const held = record('2022-06-01', 0, [historyHeldNote('2022-06-01', '2022-06-05', '')]);
    expect(rowsShown(held)).toBe('replay on 06-05');
    const replayed = record('2022-06-05', 634, [
      'replayed 5 date(s) 2022-06-01 .. 2022-06-05 to rebuild history',
    ]);
    expect(rowsShown(replayed)).toBe('634 written');
    // A dimension rebuilt in the same run, named in the note, changes nothing to that.
    const behind = historyHeldNote(
      '2022-06-02',
      '2022-06-05',
      'gold.dim_user holds dates only to 2022-06-02',
    );
    expect(rowsShown(record('2022-06-02', 0, [behind]))).toBe('replay on 06-05');
  });
});

describe('a model card after a run', () => {
  const node = (notes: GraphNodeState['notes']): GraphNodeState => ({
    model: 'silver.keyword_match',
    runId: 'r1',
    status: 'success',
    dates: ['2022-06-03'],
    rowsIn: 1745,
    rowsOut: 1745,
    tableRows: 4049,
    durationMs: 154,
    testsPassed: 0,
    testsFailed: 0,
    testsWarned: 0,
    failedTests: [],
    error: null,
    notes,
    reconcileWith: null,
    perDate: [],
    notRun: null,
  });
  const card = (state: GraphNodeState) =>
    renderToStaticMarkup(
      createElement(ModelCard, {
        model,
        state: cardFromGraph(state),
        focused: false,
        onFocus: () => {},
        style: {},
      }),
    );

  it('says that the run left notes, which a success says nothing else of, and lists them on hover', () => {
    const catalog =
      'catalog source.title_catalog: 2 title(s) share a slug with another title of other genres, and only one of them is used';
    const older =
      '4 date(s) not in this run (2022-06-01, 2022-06-02, 2022-06-04, 2022-06-05) were matched against an earlier version';
    const html = card(
      node([
        { etlDate: '2022-06-03', text: catalog },
        { etlDate: '2022-06-03', text: older },
      ]),
    );
    const marker = /<span class="card-notes" data-testid="card-notes" data-count="2" title="([^"]*)">/.exec(
      html,
    );
    expect(marker).not.toBeNull();
    expect(html).toContain('<span class="card-notes-words"> notes</span>');
    expect(marker?.[1]).toContain(`2022-06-03: ${catalog}`);
    expect(marker?.[1]).toContain(`2022-06-03: ${older}`);
    expect(card(node([]))).not.toContain('card-notes');
  });

  it("says a model without data tests has none, not '0 passed'", () => {
    const figures = (state: GraphNodeState) => {
      const html = renderToStaticMarkup(createElement(ModelDetails, { model, state, onSelect: () => {} }));
      return /data-testid="model-run-figures">(.*?)<\/p>/.exec(html)?.[1]?.replace(/<!-- -->/g, '');
    };
    expect(figures(node([]))).toMatch(/ · no data tests$/);
    expect(figures({ ...node([]), testsPassed: 2, testsWarned: 1 })).toMatch(/ · tests: 2 passed, 1 warned$/);
  });

  it('says a model that failed before committing a date kept nothing and ran no test, not "0 dates · no data tests"', () => {
    const failed: GraphNodeState = {
      ...node([]),
      status: 'failed',
      dates: [],
      rowsIn: 0,
      rowsOut: 0,
      durationMs: 0,
      error: 'models/gold/dim_platform.sql:16: Binder Error: Referenced column "platfrm" not found',
    };
    const details = (state: GraphNodeState) =>
      renderToStaticMarkup(createElement(ModelDetails, { model, state, onSelect: () => {} })).replace(
        /<!-- -->/g,
        '',
      );
    const figures = (state: GraphNodeState) =>
      /data-testid="model-run-figures">(.*?)<\/p>/.exec(details(state))?.[1];
    expect(figures(failed)).toBe(
      '4,049 rows now · latest run: failed, committed no date in 0 ms · tests not run',
    );
    // The run's id, with no empty list of dates after it.
    expect(details(failed)).toContain('scd2 · run r1</span>');
    expect(figures(node([]))).toContain('over 1 date in');
  });
});

describe("a partition model's details: its row accounting per date", () => {
  const silver: ModelInfo = {
    ...model,
    id: 'silver.customer_search',
    layer: 'silver',
    name: 'customer_search',
    materialized: 'partition',
    upstream: ['bronze.customer_search'],
  };
  const state: GraphNodeState = {
    model: silver.id,
    runId: 'r2',
    status: 'failed',
    dates: ['2022-06-01'],
    rowsIn: 3000,
    rowsOut: 2998,
    tableRows: 2998,
    durationMs: 900,
    testsPassed: 3,
    testsFailed: 0,
    testsWarned: 0,
    failedTests: [],
    error: 'silver.customer_search 2022-06-02: bronze.customer_search has 3100 rows but ...',
    notes: [],
    reconcileWith: 'bronze.customer_search',
    perDate: [
      {
        etlDate: '2022-06-01',
        status: 'success',
        rowsIn: 3000,
        rowsOut: 2998,
        duplicatesRemoved: 1,
        quarantined: 1,
      },
      {
        etlDate: '2022-06-02',
        status: 'failed',
        rowsIn: 3100,
        rowsOut: 3095,
        duplicatesRemoved: 2,
        quarantined: 0,
      },
      {
        etlDate: '2022-06-03',
        status: 'skipped',
        rowsIn: 0,
        rowsOut: 0,
        duplicatesRemoved: 0,
        quarantined: 0,
      },
    ],
    notRun: null,
  };
  const lines = (s: GraphNodeState) =>
    [
      ...renderToStaticMarkup(createElement(ModelDetails, { model: silver, state: s, onSelect: () => {} }))
        .replace(/<!-- -->/g, '')
        .matchAll(/<li data-date="[^"]*" data-status="[^"]*">(.*?)<\/li>/g),
    ].map((m) => m[1]);

  it('says per date that upstream rows = written + duplicates + quarantined, and by how much a failed date is off', () => {
    expect(lines(state)).toEqual([
      '2022-06-01: bronze.customer_search 3,000 = silver.customer_search 2,998 + 1 duplicate + 1 quarantined',
      '2022-06-02 (failed): bronze.customer_search 3,100 ≠ silver.customer_search 3,095 + 2 duplicates + 0 quarantined: off by 3 rows',
    ]);
  });

  it('lists a model without reconcile_with only when a date removed or quarantined rows', () => {
    const plain = { ...state, reconcileWith: null };
    expect(lines(plain)).toEqual([
      '2022-06-01: read 3,000, wrote 2,998 + 1 duplicate + 1 quarantined',
      '2022-06-02 (failed): read 3,100, wrote 3,095 + 2 duplicates + 0 quarantined',
    ]);
    const none = plain.perDate.map((d) => ({ ...d, duplicatesRemoved: 0, quarantined: 0 }));
    expect(lines({ ...plain, perDate: none })).toEqual([]);
  });

  it('shows a model the latest run did not reach as not run, not as the success of the run before', () => {
    const kept: GraphNodeState = {
      ...state,
      status: 'success',
      runId: 'r1',
      notRun: {
        runId: 'r2',
        reason: 'not run: silver.customer_search 2022-06-02: bronze.customer_search has 3100 rows',
      },
    };
    const html = renderToStaticMarkup(
      createElement(ModelCard, {
        model: silver,
        state: cardFromGraph(kept),
        focused: false,
        onFocus: () => {},
        style: {},
      }),
    );
    expect(html).toContain('data-status="skipped"');
    expect(/data-testid="card-status"[^>]*>(.*?)<\/span>/.exec(html)?.[1]).toBe('not run');
    expect(html).toContain('title="not run: silver.customer_search 2022-06-02');
    const details = renderToStaticMarkup(
      createElement(ModelDetails, { model: silver, state: kept, onSelect: () => {} }),
    ).replace(/<!-- -->/g, '');
    expect(/data-testid="model-run-figures">(.*?) · run r1: read 3,000/.test(details)).toBe(true);
    expect(/data-testid="model-not-run">(.*?)<\/p>/.exec(details)?.[1]).toBe(
      'Not run by the latest run (r2): silver.customer_search 2022-06-02: bronze.customer_search has 3100 rows. It keeps what run r1 left, shown above.',
    );
  });
});
