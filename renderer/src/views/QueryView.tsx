import { useState } from 'react';
import type { QueryResult } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';

/** The SQL console: one read-only query, its first rows in the grid, errors as `code: message`. */
export function QueryView({ client }: { client: Client }) {
  const [sql, setSql] = useState('SELECT * FROM fact_customer_search LIMIT 100');
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await client.call('query.run', { sql, limit: 1000 }));
    } catch (e) {
      setResult(null);
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="view query-view">
      <div className="query-editor">
        <textarea
          data-testid="query-input"
          value={sql}
          spellCheck={false}
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
            <span className="muted" data-testid="query-count">
              {result.rows.length}
              {result.hasMore ? '+' : ''} row(s)
            </span>
          )}
        </div>
      </div>
      {error && (
        <p className="error" data-testid="query-error">
          {error}
        </p>
      )}
      {result && <DataGrid columns={result.columns} rows={result.rows} testId="query-grid" />}
    </section>
  );
}
