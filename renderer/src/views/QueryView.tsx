import { useCallback, useRef, useState } from 'react';
import type { QueryExport, QueryResult } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';

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

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Hands an exported file to the browser's download (Electron shows its save dialog for it). */
function download(file: QueryExport): void {
  const type = file.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet';
  const url = URL.createObjectURL(new Blob([file.content as Uint8Array<ArrayBuffer>], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The SQL console: one read-only query, its rows in the table explorer's grid (more are fetched as the
 * grid nears the end), export of the whole result to CSV or Parquet, errors as `code: message`.
 */
export function QueryView({ client }: { client: Client }) {
  const [sql, setSql] = useState('SELECT * FROM fact_customer_search LIMIT 100');
  const [result, setResult] = useState<QueryResult | null>(null);
  const [ranSql, setRanSql] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [exportStatus, setExportStatus] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [runs, setRuns] = useState(0);
  const loadingMore = useRef(false);

  const run = async () => {
    setBusy(true);
    setError(null);
    setExportStatus(null);
    try {
      setResult(await client.call('query.run', { sql, limit: PAGE_ROWS }));
      setRanSql(sql);
      setRuns((n) => n + 1);
    } catch (e) {
      setResult(null);
      setRanSql(null);
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const onVisibleRangeChange = useCallback(
    (_first: number, last: number) => {
      if (!result?.hasMore || !ranSql || loadingMore.current || last < result.rows.length - 100) return;
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
          (e: unknown) => setError(describeError(e)),
        )
        .finally(() => {
          loadingMore.current = false;
        });
    },
    [client, result, ranSql],
  );

  const exportAs = async (format: 'csv' | 'parquet') => {
    if (!ranSql) return;
    setExporting(true);
    setExportStatus(null);
    try {
      const file = await client.call('query.export', { sql: ranSql, format });
      download(file);
      setExportStatus(
        `Exported ${file.rows.toLocaleString()} rows to ${file.fileName} (${formatBytes(file.bytes)})`,
      );
    } catch (e) {
      setExportStatus(null);
      setError(describeError(e));
    } finally {
      setExporting(false);
    }
  };

  return (
    <section className="view query-view">
      <div className="query-editor">
        <textarea
          data-testid="query-input"
          value={sql}
          spellCheck={false}
          aria-label="SQL"
          onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void run();
          }}
        />
        <div className="toolbar">
          <button type="button" className="primary" data-testid="query-run" disabled={busy} onClick={run}>
            {busy ? 'Running…' : 'Run'}
          </button>
          <span className="muted">Ctrl+Enter runs</span>
          {result && (
            <span className="muted" data-testid="query-count" data-total={result.total ?? ''}>
              {describeCount(result)}
            </span>
          )}
          <span className="toolbar-spacer" />
          <button
            type="button"
            data-testid="export-csv"
            disabled={!ranSql || exporting}
            onClick={() => void exportAs('csv')}
          >
            Export CSV
          </button>
          <button
            type="button"
            data-testid="export-parquet"
            disabled={!ranSql || exporting}
            onClick={() => void exportAs('parquet')}
          >
            Export Parquet
          </button>
        </div>
        {exportStatus && (
          <p className="muted export-status" data-testid="export-status">
            {exportStatus}
          </p>
        )}
      </div>
      {error && (
        <p className="error query-error" data-testid="query-error">
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
