import { useCallback, useEffect, useRef, useState } from 'react';
import type { QueryExport, QueryResult } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import type { ConsoleSession } from '../console-session.ts';
import { download, exportedText } from '../download.ts';

const PAGE_ROWS = 1000;

/** How big the result is: its total when the engine knows it, else what is loaded and how to get the rest. */
function describeCount(result: QueryResult): string {
  const loaded = result.rows.length.toLocaleString();
  if (result.total === null) {
    return `${loaded}+ rows loaded (too many to count quickly); scrolling loads more, export writes them all`;
  }
  const rows = `${result.total.toLocaleString()} row${result.total === 1 ? '' : 's'}`;
  return result.rows.length < result.total ? `${rows} · ${loaded} loaded, scrolling loads more` : rows;
}

/**
 * The SQL console: one read-only query, its rows in the table explorer's grid (more are fetched as the
 * grid nears the end), export of the whole result to CSV or Parquet, errors as `code: message`. The query,
 * its result and its error outlive the view in `session`, so leaving the tab and coming back loses none.
 */
let queryCount = 0;
/** A name for one run of the console's query, unique in this window's life. */
function nextQueryId(): string {
  queryCount += 1;
  return `console-${Date.now().toString(36)}-${queryCount}`;
}

export function QueryView({ client, session }: { client: Client; session: ConsoleSession }) {
  const [sql, setSql] = useState(session.sql);
  const [result, setResult] = useState<QueryResult | null>(session.result);
  const [ranSql, setRanSql] = useState<string | null>(session.ranSql);
  const [error, setError] = useState<string | null>(session.error);
  const [busy, setBusy] = useState(false);
  const [exportStatus, setExportStatus] = useState<string | null>(null);
  /** The format being exported, whose button says so until the file is ready. */
  const [exporting, setExporting] = useState<QueryExport['format'] | null>(null);
  const [runs, setRuns] = useState(0);
  const [cancelled, setCancelled] = useState(session.cancelled);
  const [cancelling, setCancelling] = useState(false);
  const [stoppedOnLeave, setStoppedOnLeave] = useState<string | null>(session.stoppedOnLeave);
  const loadingMore = useRef(false);

  useEffect(() => {
    session.sql = sql;
    session.result = result;
    session.ranSql = ranSql;
    session.error = error;
    session.stoppedOnLeave = stoppedOnLeave;
    session.cancelled = cancelled;
  }, [session, sql, result, ranSql, error, stoppedOnLeave, cancelled]);

  // A result whose next rows failed to load (say a run let it go): scrolling does not ask again.
  const stalled = useRef<QueryResult | null>(null);

  // Leaving the tab stops a query still running: its rows would have no view to land in, and unattended it
  // would keep the engine busy beside runs and previews. The session remembers it, so coming back says so
  // and offers to run it again. (The engine lets go of an open result on its own: when it is not read for a
  // while, or a run starts.)
  const runningSql = useRef<string | null>(null);
  const runningId = useRef<string | undefined>(undefined);
  useEffect(
    () => () => {
      const stopped = runningSql.current;
      if (stopped === null) return;
      // Named, so the engine stops it even when this cancel reaches it before the query does.
      void client.call('query.cancel', { queryId: runningId.current }).catch(() => undefined);
      // What the view showed (the rows of the query before) is not this query's: coming back shows the note.
      Object.assign(session, {
        result: null,
        ranSql: null,
        error: null,
        stoppedOnLeave: stopped,
        cancelled: false,
      });
    },
    [client, session],
  );

  const run = async (query: string = sql) => {
    setBusy(true);
    setError(null);
    setExportStatus(null);
    setCancelled(false);
    setStoppedOnLeave(null);
    runningSql.current = query;
    runningId.current = nextQueryId();
    try {
      setResult(await client.call('query.run', { sql: query, limit: PAGE_ROWS, queryId: runningId.current }));
      setRanSql(query);
      setRuns((n) => n + 1);
    } catch (e) {
      // A cancel is what the user asked for, not an error to read: the previous result comes back, labelled
      // as the previous query's, as most SQL tools leave it.
      if (e && typeof e === 'object' && 'code' in e && e.code === 'QUERY_CANCELLED') setCancelled(true);
      else {
        setResult(null);
        setRanSql(null);
        setError(describeError(e));
      }
    } finally {
      runningSql.current = null;
      setBusy(false);
      setCancelling(false);
    }
  };

  const cancel = async () => {
    setCancelling(true);
    try {
      await client.call('query.cancel', { queryId: runningId.current });
    } catch (e) {
      setCancelling(false);
      setError(describeError(e));
    }
  };

  const onVisibleRangeChange = useCallback(
    (_first: number, last: number) => {
      if (!result?.hasMore || !ranSql || loadingMore.current || stalled.current === result) return;
      if (last < result.rows.length - 100) return;
      loadingMore.current = true;
      client
        .call('query.run', { sql: ranSql, limit: PAGE_ROWS, offset: result.rows.length })
        .then(
          (more) =>
            setResult((current) =>
              current && current === result
                ? {
                    ...current,
                    rows: [...current.rows, ...more.rows],
                    hasMore: more.hasMore,
                    total: current.total ?? more.total,
                  }
                : current,
            ),
          (e: unknown) => {
            stalled.current = result;
            setError(describeError(e));
          },
        )
        .finally(() => {
          loadingMore.current = false;
        });
    },
    [client, result, ranSql],
  );

  // The export is of the query in the box, as written now: not the one whose rows the grid shows.
  const exportAs = async (format: QueryExport['format']) => {
    if (!sql.trim()) return;
    setExporting(format);
    setExportStatus(null);
    // The last query's error is not this export's: left up, it would read as the export failing.
    setError(null);
    try {
      const file = await client.call('query.export', { sql, format });
      download(file);
      setExportStatus(exportedText(file));
    } catch (e) {
      setExportStatus(null);
      setError(describeError(e));
    } finally {
      setExporting(null);
    }
  };

  // While a query runs, and after it is cancelled, the rows shown are the query's before: said so, and faded.
  const showsPrevious = result !== null && (busy || cancelled);

  return (
    <section className={`view query-view${showsPrevious ? ' previous-result' : ''}`}>
      <div className="query-editor">
        <textarea
          data-testid="query-input"
          value={sql}
          spellCheck={false}
          aria-label="SQL"
          onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !busy && sql.trim()) void run();
          }}
        />
        <div className="toolbar">
          <button
            type="button"
            className="primary"
            data-testid="query-run"
            // An empty box has nothing to run: the engine's refusal named its method ('query.run: sql: ...').
            disabled={busy || !sql.trim()}
            onClick={() => void run()}
          >
            {busy ? 'Running…' : 'Run'}
          </button>
          {busy && (
            <button
              type="button"
              data-testid="query-cancel"
              disabled={cancelling}
              onClick={() => void cancel()}
            >
              {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          )}
          <span className="muted">Ctrl+Enter runs</span>
          {/* A live region, there before the first result: a screen reader says each query's row count. */}
          <span
            className="muted"
            role="status"
            data-testid="query-count"
            data-total={showsPrevious ? '' : (result?.total ?? '')}
          >
            {result ? `${showsPrevious ? 'Previous query: ' : ''}${describeCount(result)}` : ''}
          </span>
          <span className="toolbar-spacer" />
          <button
            type="button"
            data-testid="export-csv"
            disabled={!sql.trim() || exporting !== null}
            title="Exports every row of the query in the box, run again in full"
            onClick={() => void exportAs('csv')}
          >
            {exporting === 'csv' ? 'Exporting…' : 'Export CSV'}
          </button>
          <button
            type="button"
            data-testid="export-parquet"
            disabled={!sql.trim() || exporting !== null}
            title="Exports every row of the query in the box, run again in full"
            onClick={() => void exportAs('parquet')}
          >
            {exporting === 'parquet' ? 'Exporting…' : 'Export Parquet'}
          </button>
        </div>
        {exportStatus && (
          <p className="muted export-status" data-testid="export-status">
            {exportStatus}
          </p>
        )}
      </div>
      {cancelled && (
        <p className="muted export-status" data-testid="query-cancelled">
          Cancelled: the query was stopped before it finished.
          {result && " The rows below are the previous query's."}
        </p>
      )}
      {stoppedOnLeave !== null && (
        <p className="muted export-status" data-testid="query-stopped-on-leave">
          This query was stopped when you left the Query tab, before it finished.{' '}
          <button
            type="button"
            data-testid="query-run-again"
            onClick={() => {
              setSql(stoppedOnLeave);
              void run(stoppedOnLeave);
            }}
          >
            Run it again
          </button>
        </p>
      )}
      {error && (
        <p className="error query-error" role="alert" data-testid="query-error">
          {error}
        </p>
      )}
      {result && (
        <DataGrid
          columns={result.columns}
          rows={result.rows}
          onVisibleRangeChange={onVisibleRangeChange}
          resetKey={runs}
          testId="query-grid"
        />
      )}
    </section>
  );
}
