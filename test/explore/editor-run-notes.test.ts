import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ModelRunRecord, RunSummary } from '../../engine/api/contract.ts';
import { historyHeldNote } from '../../engine/api/history-notes.ts';
import { RunNotes } from '../../renderer/src/views/ModelEditorView.tsx';

// The model editor's notes of a run it started, rendered to markup: a run of every date from the editor.

const day = (n: number) => `2022-06-${String(n).padStart(2, '0')}`;

function record(etlDate: string, warnings: string[]): ModelRunRecord {
  return {
    model: 'gold.bridge_user_plan',
    etlDate,
    status: 'success',
    rowsIn: 0,
    rowsOut: 0,
    duplicatesRemoved: 0,
    quarantined: 0,
    durationMs: 5,
    tests: [],
    warnings,
  };
}

describe("the editor's run notes", () => {
  it("list a 25-date run's held history once and keep the last date's replay note", () => {
    const models = Array.from({ length: 24 }, (_, i) =>
      record(day(i + 1), [historyHeldNote(day(i + 1), day(25), '')]),
    );
    models.push(record(day(25), [`replayed 25 date(s) ${day(1)} .. ${day(25)} to rebuild history`]));
    const summary: RunSummary = {
      runId: 'r1',
      status: 'success',
      dates: models.map((m) => m.etlDate),
      models,
      durationMs: 100,
    };
    const html = renderToStaticMarkup(createElement(RunNotes, { summary })).replace(/<!-- -->/g, '');
    const items = [...html.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
    expect(items).toEqual([
      `${day(1)} … ${day(24)} (24 dates): history not replayed: this run replays it once, on ${day(25)}, with every date it changes; kept as it was until then`,
      `${day(25)}: replayed 25 date(s) ${day(1)} .. ${day(25)} to rebuild history`,
    ]);
  });
});
