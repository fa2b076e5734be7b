import type { Column, JsonRow, JsonValue } from '../../../engine/api/contract.ts';

function formatCell(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export interface DataGridProps {
  columns: Column[];
  rows: JsonRow[];
  testId?: string;
}

/** A plain scrolling table with a sticky header; long cells end in an ellipsis (full text on hover). */
export function DataGrid({ columns, rows, testId = 'data-grid' }: DataGridProps) {
  return (
    <div className="grid-scroll" data-testid={testId}>
      <table className="grid">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.name} title={`${c.name} (${c.type})`}>
                <span className="grid-col-name">{c.name}</span>
                <span className="grid-col-type">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            // Rows have no key of their own; their position is stable for one result.
            // biome-ignore lint/suspicious/noArrayIndexKey: rows of one result never reorder
            <tr key={i} data-testid="grid-row">
              {columns.map((c) => {
                const text = formatCell(row[c.name]);
                const numeric = typeof row[c.name] === 'number';
                return (
                  <td key={c.name} title={text} className={numeric ? 'num' : undefined}>
                    {text}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="muted grid-empty">No rows.</p>}
    </div>
  );
}
