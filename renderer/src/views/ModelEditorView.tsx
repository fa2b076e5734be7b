import { useEffect, useRef, useState } from 'react';
import type {
  GraphNote,
  JsonRow,
  JsonValue,
  ModelDiff,
  ModelPreview,
  ProjectInfo,
  RunSummary,
  TableDiff,
} from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import { LakehouseError } from '../../../engine/api/errors.ts';
import { groupNotes } from '../../../engine/api/notes.ts';
import type { Client } from '../api/client.ts';
import { DataGrid, formatCell } from '../components/DataGrid.tsx';
import { type FailedTest, FailedTestList } from '../components/FailedTestList.tsx';
import { NoteList } from '../components/NoteList.tsx';
import { SqlEditor } from '../components/SqlEditor.tsx';
import { describeError } from '../connect.ts';
import type { AppliedRun, ModelDrafts } from '../drafts.ts';
import { cancelledNote } from '../run-summary.ts';
import './explore.css';

/** A value in a diff, as the grid shows it (NULL spelled out: a change to or from NULL must read). */
function cell(value: JsonValue | undefined, type = ''): string {
  if (value === null || value === undefined) return 'NULL';
  return formatCell(value, type);
}

/** The line an engine error points at (details.line), if any. */
function errorLineOf(error: unknown): number | null {
  const details = error && typeof error === 'object' && 'details' in error ? error.details : undefined;
  const line = details && typeof details === 'object' && 'line' in details ? details.line : undefined;
  return typeof line === 'number' ? line : null;
}

type ApplyState =
  | { phase: 'idle' }
  | { phase: 'running'; runId: string | null; done: number; total: number; tables: string[] }
  | { phase: 'done'; diff: ModelDiff; summary: RunSummary | null };

/** A preview with the text and date it ran for, so it can say when the editor has moved on. */
interface ShownPreview {
  result: ModelPreview;
  text: string;
  date: string;
}

/** The error-severity tests that stopped a run, with the model and date each failed on. */
function failedTestsOf(summary: RunSummary | null): FailedTest[] {
  return (summary?.models ?? []).flatMap((record) =>
    record.tests
      .filter((test) => !test.passed && test.severity === 'error')
      .map((test) => ({ test, where: `${record.model} on ${record.etlDate}` })),
  );
}

/**
 * What a run noted for each model (columns added or no longer produced, warned tests, …), each note once
 * with the dates that gave it, as the pipeline view's model details list them.
 */
function runNotesOf(summary: RunSummary | null): Map<string, GraphNote[]> {
  const notes = new Map<string, { etlDate: string; text: string }[]>();
  for (const record of summary?.models ?? []) {
    const ofModel = notes.get(record.model) ?? [];
    for (const text of record.warnings) ofModel.push({ etlDate: record.etlDate, text });
    if (ofModel.length > 0) notes.set(record.model, ofModel);
  }
  return new Map([...notes].map(([model, ofModel]) => [model, groupNotes(ofModel)]));
}

/** The engine's refusal to save over a model file that changed since the edit began. */
function isChangedSinceRead(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    'details' in e &&
    (e as { details?: { reason?: unknown } }).details?.reason === 'changed-since-read'
  );
}

/**
 * Edit a model's SQL, preview it on current data without writing, then save it and run it with
 * everything downstream, and see what changed in each affected gold table.
 */
export function ModelEditorView({
  client,
  project,
  drafts,
}: {
  client: Client;
  project: ProjectInfo;
  drafts: ModelDrafts;
}) {
  const editable = project.models.filter((m) => m.layer !== 'bronze');
  // Files that do not load are listed too, with their error: this is where they get fixed.
  const broken = project.brokenModels.filter((m) => m.layer !== 'bronze');
  const [model, setModel] = useState(
    drafts.model ?? editable.find((m) => m.role === 'fact')?.id ?? editable[0]?.id ?? broken[0]?.id ?? '',
  );
  const [original, setOriginal] = useState('');
  const [text, setText] = useState('');
  // The model whose text the editor holds: until the newly picked one loads, edits belong to this one.
  const [loaded, setLoaded] = useState<string | null>(null);
  const [lastRan, setLastRan] = useState<string | null>(null);
  // The failed run the engine recorded for the file as it is, when this page did not see it (a reload).
  const [failedRun, setFailedRun] = useState<{ runId: string; error: string | null } | null>(null);
  // A run outlives a switch of model: what it learns is for the model shown only if it still is.
  const shown = useRef(model);
  shown.current = model;
  // The date picked before the tab was left, while the project still has it.
  const [date, setDate] = useState(
    drafts.date && project.availableDates.includes(drafts.date)
      ? drafts.date
      : (project.availableDates.at(-1) ?? ''),
  );
  const [allDates, setAllDates] = useState(false);
  const [preview, setPreview] = useState<ShownPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [errorLine, setErrorLine] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [previewing, setPreviewing] = useState(false);
  const [apply, setApply] = useState<ApplyState>({ phase: 'idle' });
  // Says why a failed run's banner and Restore went away: the file was changed outside the editor.
  const [changedOutside, setChangedOutside] = useState<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: showAppliedAgain, adoptRunInProgress and forgetRunOfOtherText, new each render, use only these, refs and setters
  useEffect(() => {
    if (!model) return;
    let live = true;
    client.call('model.source', { model }).then(
      (source) => {
        if (!live) return;
        const outside = forgetRunOfOtherText(model, source.text);
        setChangedOutside(outside ? source.file : null);
        const draft = drafts.get(model);
        setOriginal(source.text);
        setText(draft.text ?? source.text);
        setLoaded(model);
        // The engine knows the last version that ran from its run records: a reload or restart keeps it.
        const recorded = draft.lastRan === undefined ? source.restorable : null;
        setLastRan(draft.lastRan ?? recorded?.text ?? null);
        setFailedRun(
          recorded && !draft.lastApply ? { runId: recorded.failedRunId, error: recorded.error } : null,
        );
        setPreview(null);
        setError(null);
        setErrorLine(null);
        // Each model shows its own last Save & run, also one that went on while the tab was left.
        if (draft.lastApply) void showAppliedAgain(model, draft.lastApply);
        else {
          setApply({ phase: 'idle' });
          void adoptRunInProgress(model, source.text);
        }
      },
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client, model, drafts]);

  const pickModel = (next: string) => {
    drafts.model = next;
    setModel(next);
  };

  // Every edit is kept with its model, so leaving the tab or picking another model loses nothing.
  const edit = (next: string) => {
    setText(next);
    if (!loaded) return;
    const unchanged = next === original;
    drafts.update(loaded, {
      text: unchanged ? undefined : next,
      base: unchanged ? undefined : (drafts.get(loaded).base ?? original),
    });
  };

  // The file edited in another editor while the window was away: shown as it is now when the window
  // regains focus, as the engine reads it then. An unsaved edit stays (saving it is refused, naming the change).
  const latest = useRef({ text, original, busy });
  latest.current = { text, original, busy };
  // biome-ignore lint/correctness/useExhaustiveDependencies: forgetRunOfOtherText, new each render, uses only refs and setters
  useEffect(() => {
    if (!loaded) return;
    const isClean = () => !latest.current.busy && latest.current.text === latest.current.original;
    const onFocus = () => {
      if (!isClean()) return;
      client.call('model.source', { model: loaded }).then(
        (source) => {
          if (shown.current !== loaded || !isClean() || source.text === latest.current.original) return;
          if (forgetRunOfOtherText(loaded, source.text)) setChangedOutside(source.file);
          setOriginal(source.text);
          setText(source.text);
        },
        () => undefined,
      );
    };
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [client, loaded]);

  /**
   * Forgets a failed Save & run of `target` when the file no longer holds what it saved (changed outside
   * the editor): its failure is of a text no longer there, and Restore would overwrite the newer file.
   * Whether it did; a successful run's diff stays, as what that run did.
   */
  const forgetRunOfOtherText = (target: string, fileText: string): boolean => {
    const { saved, lastRan: offered } = drafts.get(target);
    if (saved === undefined || saved === fileText) return false;
    if (offered === undefined) {
      drafts.update(target, { saved: undefined });
      return false;
    }
    drafts.update(target, { saved: undefined, lastRan: undefined, lastApply: undefined });
    if (shown.current === target) {
      setLastRan(null);
      setApply({ phase: 'idle' });
    }
    return true;
  };

  const rememberLastRan = (target: string, value: string | null) => {
    drafts.update(target, { lastRan: value ?? undefined });
    if (shown.current === target) setLastRan(value);
  };

  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type === 'run.finished') {
          // The summary may come after model.diff's reply; the failing rows it carries then show late.
          setApply((prev) =>
            prev.phase === 'done' && prev.diff.runId === event.runId && !prev.summary
              ? { ...prev, summary: event.summary }
              : prev,
          );
        }
        if (event.type === 'run.progress') {
          setApply((prev) =>
            prev.phase === 'running' && (prev.runId === null || prev.runId === event.runId)
              ? { ...prev, runId: event.runId, done: event.done, total: event.total }
              : prev,
          );
        }
      }),
    [client],
  );

  const fail = (e: unknown) => {
    setError(describeError(e));
    setErrorLine(errorLineOf(e));
  };

  const runPreview = async () => {
    setBusy(true);
    setPreviewing(true);
    setError(null);
    setErrorLine(null);
    const previewed = { text, date };
    try {
      const result = await client.call('model.preview', { model, text, date: date || undefined, limit: 200 });
      setPreview({ result, ...previewed });
    } catch (e) {
      // A cancelled preview leaves the last one shown: the user stopped this one, nothing failed.
      if (e instanceof LakehouseError && e.code === 'QUERY_CANCELLED') return;
      setPreview(null);
      fail(e);
    } finally {
      setBusy(false);
      setPreviewing(false);
    }
  };

  /**
   * Waits for the run of a Save & run of `target` to end (model.diff answers then) and shows its diff, if it
   * is still the model's last one. Whether it failed decides the version to offer back.
   */
  const awaitDiff = async (target: string, applied: AppliedRun) => {
    const diff = await client.call('model.diff', { runId: applied.runId });
    if (drafts.get(target).lastApply?.runId !== applied.runId) return;
    let before = applied.before;
    if (diff.status === 'failed' && before === null) {
      // A run found after a reload: the engine's run records know the version that last ran.
      const source = await client.call('model.source', { model: target }).catch(() => null);
      before = source?.restorable?.text ?? null;
    }
    // A cancel is the user's own stop, not a sign the saved version is broken: nothing to offer back.
    rememberLastRan(target, diff.status === 'failed' ? before : null);
    if (shown.current === target) {
      setApply({ phase: 'done', diff, summary: drafts.summaryOf(applied.runId) });
    }
  };

  /** The last Save & run of a model opened again: its progress while it runs, then its diff. */
  const showAppliedAgain = async (target: string, applied: AppliedRun) => {
    setApply({ phase: 'running', runId: applied.runId, done: 0, total: 0, tables: [] });
    try {
      await awaitDiff(target, applied);
    } catch {
      // The engine keeps the diffs of its last 10 runs: an older one is not shown again.
      if (drafts.get(target).lastApply?.runId === applied.runId) {
        drafts.update(target, { lastApply: undefined });
      }
      if (shown.current === target) setApply({ phase: 'idle' });
    }
  };

  /**
   * A Save & run of `target` still running when the page was reloaded (or opened in another window):
   * shown as if this page had started it, with its progress, Cancel and then its diff, rather than as
   * a saved model whose Save & run is then refused because a run is in progress.
   */
  const adoptRunInProgress = async (target: string, fileText: string) => {
    const status = await client.call('pipeline.status').catch(() => null);
    const run = status?.run;
    const select = run?.request.select ?? [];
    if (!run?.runId || select.length !== 1 || select[0] !== `${target}+`) return;
    if (shown.current !== target || drafts.get(target).lastApply) return;
    const applied = { runId: run.runId, before: null };
    drafts.update(target, { lastApply: applied, saved: fileText });
    await showAppliedAgain(target, applied);
  };

  /** Saves `saving` (the edit, or the last version that ran when restoring) and runs it with its downstream. */
  const saveAndRun = async (saving: string) => {
    const target = model;
    // What the file held before this save; if the run fails, it is the version to offer back.
    const before = lastRan ?? original;
    let saved = false;
    setBusy(true);
    setError(null);
    setErrorLine(null);
    setChangedOutside(null);
    setFailedRun(null);
    setApply({ phase: 'running', runId: null, done: 0, total: 0, tables: [] });
    // The run changes the committed data a preview was read from; the diff takes its place.
    setPreview(null);
    try {
      await client.ready();
      const started = await client.call('model.apply', {
        model: target,
        text: saving,
        // Another window may have saved this model since: the engine refuses rather than overwrite it.
        base: drafts.get(target).base ?? original,
        dates: allDates || !date ? undefined : [date],
      });
      saved = true;
      setOriginal(saving);
      setText(saving);
      // Kept with the model, so its diff shows if the tab is left during the run and opened after it.
      const applied = { runId: started.runId, before };
      drafts.update(target, { text: undefined, base: undefined, lastApply: applied, saved: saving });
      setApply((prev) => ({
        phase: 'running',
        runId: started.runId,
        done: prev.phase === 'running' ? prev.done : 0,
        total: started.total,
        tables: started.tables,
      }));
      await awaitDiff(target, applied);
    } catch (e) {
      setApply({ phase: 'idle' });
      // The file was written but whether it ran is unknown: keep the version before it within reach.
      if (saved) rememberLastRan(target, before);
      if (isChangedSinceRead(e)) {
        // The file as it is now becomes the edit's base: Revert shows it, and saving again is deliberate.
        const fresh = await client.call('model.source', { model: target }).catch(() => null);
        if (fresh) {
          forgetRunOfOtherText(target, fresh.text);
          drafts.update(target, { base: fresh.text });
          if (shown.current === target) setOriginal(fresh.text);
          setError(
            `${describeError(e)} Revert now shows the file as it is; Save & run again saves your edit over it.`,
          );
          return;
        }
      }
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  /** Cancels the Save & run in progress: the date running rolls back, and its diff says cancelled. */
  const cancelRun = async () => {
    if (apply.phase !== 'running' || apply.runId === null) return;
    try {
      await client.call('pipeline.cancel', { runId: apply.runId });
    } catch (e) {
      fail(e);
    }
  };

  const dirty = text !== original;
  // Until a newly picked model loads, the editor holds the last one's text: it must not run as the new one.
  const showsModel = loaded === model;
  const restorable = lastRan !== null && lastRan !== original && showsModel;
  const running = apply.phase === 'running';
  const previewStale = preview !== null && (preview.text !== text || preview.date !== date);
  const brokenError = broken.find((m) => m.id === model)?.error ?? null;
  // A model gone from the project (its file removed or renamed) stays named in the list while it is
  // open: otherwise the list shows another model than the text and the Save & run button belong to.
  const listsModel = model === '' || editable.some((m) => m.id === model) || brokenError !== null;

  return (
    <section className="view editor-view">
      <div className="toolbar">
        <label className="field">
          Model
          <select
            data-testid="editor-model"
            value={model}
            disabled={running}
            onChange={(e) => pickModel(e.target.value)}
          >
            {editable.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
                {m.id !== model && drafts.get(m.id).text !== undefined ? ' (edited, not saved)' : ''}
              </option>
            ))}
            {broken.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} (does not load)
                {m.id !== model && drafts.get(m.id).text !== undefined ? ' (edited, not saved)' : ''}
              </option>
            ))}
            {!listsModel && <option value={model}>{model} (not in the project)</option>}
          </select>
        </label>
        <label className="field">
          Date
          {/* Every date runs when ticked, so a date to pick would mislead; the preview keeps the one shown. */}
          <select
            data-testid="editor-date"
            value={date}
            disabled={allDates}
            title={allDates ? 'Save & run runs every date; untick "run every date" to choose one' : undefined}
            onChange={(e) => {
              setDate(e.target.value);
              drafts.date = e.target.value;
            }}
          >
            {project.availableDates.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <button
          type="button"
          data-testid="editor-preview"
          disabled={busy || !showsModel || !text}
          onClick={runPreview}
        >
          Preview
        </button>
        {previewing && (
          <button
            type="button"
            data-testid="editor-preview-cancel"
            onClick={() => void client.call('model.preview.cancel', {}).catch(fail)}
          >
            Cancel preview
          </button>
        )}
        <label className="field">
          <input
            type="checkbox"
            data-testid="editor-all-dates"
            checked={allDates}
            onChange={(e) => setAllDates(e.target.checked)}
          />
          run every date
        </label>
        <button
          type="button"
          className="primary"
          data-testid="editor-apply"
          disabled={busy || running || !showsModel || !text}
          onClick={() => void saveAndRun(text)}
        >
          Save &amp; run {model}+
        </button>
        {running && (
          <button
            type="button"
            data-testid="editor-cancel"
            // The run's id comes with model.apply's answer; a cancel before it has nothing to name.
            disabled={apply.runId === null}
            onClick={() => void cancelRun()}
          >
            Cancel run
          </button>
        )}
        <button
          type="button"
          data-testid="editor-revert"
          disabled={!dirty || busy}
          onClick={() => edit(original)}
        >
          Revert
        </button>
        {restorable && (
          <button
            type="button"
            data-testid="editor-restore"
            disabled={busy || running || dirty}
            title={
              dirty
                ? 'Revert the edit first: restoring replaces the text in the editor'
                : 'The last save did not run; this saves the version before it and runs it again'
            }
            onClick={() => {
              // It writes over the file: a slip of the mouse must not bring a broken version back.
              const file = [...editable, ...broken].find((m) => m.id === model)?.file ?? model;
              if (
                window.confirm(`Save the last version that ran over ${file}, and run it with its downstream?`)
              ) {
                void saveAndRun(lastRan);
              }
            }}
          >
            Restore the last version that ran
          </button>
        )}
        <span className="muted" data-testid="editor-state">
          {dirty ? 'edited' : restorable ? 'saved · its run failed' : 'saved'}
          {running && ` · running ${apply.done}/${apply.total || '…'}`}
        </span>
      </div>
      {brokenError && (
        <p className="error" role="alert" data-testid="editor-broken">
          {describeError(brokenError)}
          {'\n'}This file is left out of the pipeline, and runs refuse, until it loads: fix it here and Save
          &amp; run.
        </p>
      )}
      {changedOutside && (
        <p className="notice" data-testid="editor-changed-outside">
          {changedOutside} was changed outside the editor since its last Save &amp; run here. The editor shows
          the file as it is now; that run's result and the version before it are no longer offered.
        </p>
      )}
      {failedRun && restorable && apply.phase === 'idle' && (
        <p className="error" role="alert" data-testid="editor-last-failure">
          The last run of this file (run {failedRun.runId}) failed
          {failedRun.error ? `: ${failedRun.error}` : ''}. Fix it and Save &amp; run again, or restore the
          last version that ran.
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="editor-error" data-line={errorLine ?? ''}>
          {error}
        </p>
      )}
      <div className="editor-main">
        <SqlEditor
          value={text}
          documentKey={loaded}
          onChange={edit}
          errorLine={errorLine}
          label="Model SQL"
          testId="sql-editor"
        />
        <div className="editor-results">
          {apply.phase === 'done' && <DiffPanel diff={apply.diff} summary={apply.summary} />}
          {preview && (
            <div
              className={`editor-preview${previewStale ? ' stale' : ''}`}
              data-testid="editor-preview-result"
              data-stale={previewStale}
            >
              <span className="muted" data-testid="preview-summary">
                Preview of {preview.result.date}: {preview.result.rows.length}
                {preview.result.hasMore ? '+' : ''}{' '}
                {preview.result.hasMore ? 'rows' : inNumber(preview.result.rows.length, 'row')} in{' '}
                {preview.result.durationMs} ms; nothing was written.
              </span>
              {previewStale && (
                <p className="warning" data-testid="preview-stale">
                  Stale: the SQL or the date has changed since this preview. Preview again to see the current
                  edit.
                </p>
              )}
              <DataGrid columns={preview.result.columns} rows={preview.result.rows} testId="preview-grid" />
            </div>
          )}
          {!preview && apply.phase === 'idle' && (
            <p className="muted">
              Preview runs the edited SELECT for one date on the committed data and writes nothing. Save &amp;
              run writes the file, runs the model and everything downstream, and shows what changed in each
              gold table.
            </p>
          )}
        </div>
      </div>
    </section>
  );
}

function DiffPanel({ diff, summary }: { diff: ModelDiff; summary: RunSummary | null }) {
  return (
    <div className="diff-panel" data-testid="diff-panel" data-status={diff.status}>
      {diff.status === 'cancelled' ? (
        <p className="notice" data-testid="diff-cancelled">
          Run {diff.runId} cancelled. {summary ? cancelledNote(summary) : ''}
        </p>
      ) : (
        <p className={diff.status === 'success' ? 'muted' : 'error'}>
          Run {diff.runId}: {diff.status}
          {summary?.error ? ` · ${summary.error.code}: ${summary.error.message}` : ''}
        </p>
      )}
      <FailedTestList tests={failedTestsOf(summary)} />
      <RunNotes summary={summary} />
      {diff.tables.map((table) => (
        <TableDiffView key={table.table} diff={table} />
      ))}
    </div>
  );
}

/** The run's notes per model, as the pipeline view's model details show them. */
export function RunNotes({ summary }: { summary: RunSummary | null }) {
  const notes = [...runNotesOf(summary)];
  if (notes.length === 0) return null;
  return (
    <div className="run-notes" data-testid="run-notes">
      {notes.map(([model, ofModel]) => (
        <div key={model} data-testid={`run-notes-${model}`}>
          <strong>{model}</strong> noted:
          <NoteList notes={ofModel} />
        </div>
      ))}
    </div>
  );
}

export function TableDiffView({ diff }: { diff: TableDiff }) {
  const columns = Object.entries(diff.changedColumns);
  // Values read as the grid's cells do (a timestamp with its milliseconds), numbers aligned as numbers.
  const typeOf = (column: string) => diff.columnTypes?.[column] ?? '';
  const gridColumns = (row: JsonRow | undefined) =>
    Object.keys(row ?? {}).map((name) => ({ name, type: typeOf(name) }));
  return (
    <div className="diff-table" data-testid={`diff-${diff.table}`}>
      <div className="diff-counts">
        <strong>{diff.table}</strong>
        <span className="diff-added" data-testid="diff-added">
          +{diff.added.toLocaleString()} added
        </span>
        <span className="diff-removed" data-testid="diff-removed">
          −{diff.removed.toLocaleString()} removed
        </span>
        <span className="diff-changed" data-testid="diff-changed" data-count={diff.changed}>
          ~{diff.changed.toLocaleString()} changed
        </span>
        <span className="muted">
          {diff.rowsBefore.toLocaleString()} → {diff.rowsAfter.toLocaleString()} rows
          {diff.key.length ? ` · by ${diff.key.join(', ')}` : ' · whole rows'}
        </span>
      </div>
      {diff.addedColumns.length > 0 && (
        <p className="diff-added" data-testid="diff-added-columns">
          Columns added: {diff.addedColumns.join(', ')}
        </p>
      )}
      {diff.removedColumns.length > 0 && (
        <p className="diff-removed" data-testid="diff-removed-columns">
          Columns dropped: {diff.removedColumns.join(', ')}
        </p>
      )}
      {Object.keys(diff.retypedColumns ?? {}).length > 0 && (
        <p className="muted" data-testid="diff-retyped-columns">
          Types changed:{' '}
          {Object.entries(diff.retypedColumns ?? {})
            .map(([c, t]) => `${c} ${t.before} → ${t.after}`)
            .join(', ')}
        </p>
      )}
      {columns.length > 0 && (
        <p className="muted">
          Changed columns: {columns.map(([c, n]) => `${c} (${n.toLocaleString()})`).join(', ')}
        </p>
      )}
      {diff.changedExamples.length > 0 && (
        <table className="grid" data-testid="diff-changed-examples">
          <thead>
            <tr>
              <th>
                <span className="grid-col-name">key</span>
              </th>
              <th>
                <span className="grid-col-name">column: before → after</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {diff.changedExamples.map((example) => (
              <tr key={JSON.stringify(example.key)}>
                <td>
                  {Object.entries(example.key)
                    .map(([c, v]) => cell(v, typeOf(c)))
                    .join(', ')}
                </td>
                <td>
                  {example.columns.map((c) => (
                    <span key={c} className="diff-change">
                      {c}: <span className="diff-before">{cell(example.before[c], typeOf(c))}</span> →{' '}
                      <span className="diff-after">{cell(example.after[c], typeOf(c))}</span>{' '}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {diff.addedExamples.length > 0 && (
        <>
          <p className="diff-added">Added, e.g.</p>
          <DataGrid
            columns={gridColumns(diff.addedExamples[0])}
            rows={diff.addedExamples}
            testId="diff-added-examples"
          />
        </>
      )}
      {diff.removedExamples.length > 0 && (
        <>
          <p className="diff-removed">Removed, e.g.</p>
          <DataGrid
            columns={gridColumns(diff.removedExamples[0])}
            rows={diff.removedExamples}
            testId="diff-removed-examples"
          />
        </>
      )}
    </div>
  );
}
