import { useEffect, useRef, useState } from 'react';
import type { QueryResult, TableInfo } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import { quoteTableName } from '../sql.ts';

const PREVIEW_ROWS = 200;

/** Every table of every layer; clicking one shows its first rows. */
export function TablesView({ client }: { client: Client }) {
  const [tables, setTables] = useState<TableInfo[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The table last clicked: a slower answer for an earlier click is dropped.
  const latest = useRef<string | null>(null);

  useEffect(() => {
    let live = true;
    client.call('tables.list').then(
      (list) => live && setTables(list.tables),
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client]);

  const open = async (name: string) => {
    latest.current = name;
    setSelected(name);
    setResult(null);
    setError(null);
    try {
      const sql = `SELECT * FROM ${quoteTableName(name)} LIMIT ${PREVIEW_ROWS}`;
      const rows = await client.call('query.run', { sql, limit: PREVIEW_ROWS });
      if (latest.current === name) setResult(rows);
    } catch (e) {
      if (latest.current === name) setError(describeError(e));
    }
  };

  return (
    <section className="view tables-view">
      <ul className="table-list" data-testid="table-list">
        {tables === null && !error && <li className="muted">Loading…</li>}
        {tables?.length === 0 && <li className="muted">No tables yet: run the pipeline.</li>}
        {tables?.map((t) => (
          <li key={t.name}>
            <button
              type="button"
              className={`table-item${selected === t.name ? ' selected' : ''}`}
              data-testid={`table-item-${t.name}`}
              onClick={() => void open(t.name)}
              title={t.name}
            >
              <span className={`layer-badge layer-${t.layer}`}>{t.layer}</span>
              <span className="table-name">{t.name}</span>
              <span className="table-rows">{t.rows.toLocaleString()}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="table-preview">
        {error && (
          <p className="error" data-testid="tables-error">
            {error}
          </p>
        )}
        {!selected && !error && <p className="muted">Pick a table to see its first {PREVIEW_ROWS} rows.</p>}
        {selected && (
          <h2 className="preview-title" title={selected}>
            {selected}
          </h2>
        )}
        {selected && !result && !error && <p className="muted">Loading…</p>}
        {result && <DataGrid columns={result.columns} rows={result.rows} testId="table-grid" />}
      </div>
    </section>
  );
}
