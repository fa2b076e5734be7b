import { useCallback, useEffect, useState } from 'react';
import type {
  OrphanKind,
  StarEdge,
  StarOrphans,
  StarSchema,
  StarTable,
} from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import './explore.css';

const BOX_WIDTH = 230;
const BOX_HEIGHT = 64;
const ROW_GAP = 36;
const LABEL_GAP = 24;

interface Placed {
  table: StarTable;
  x: number;
  y: number;
}

function edgeId(edge: StarEdge): string {
  return `${edge.from}.${edge.column}`;
}

/**
 * Facts and bridges in the middle column; dimensions the facts point at on the left, the others (those
 * only bridges point at, or none) on the right.
 */
interface Layout {
  placed: Map<string, Placed>;
  height: number;
  /** Columns of the edges between each pair of tables, so their curves and labels fan out. */
  siblings: Map<string, string[]>;
}

function placeTables(schema: StarSchema, width: number): Layout {
  const centre = schema.tables.filter((t) => t.role !== 'dimension');
  const dims = schema.tables.filter((t) => t.role === 'dimension');
  const factTargets = new Set(
    schema.edges.filter((e) => schema.tables.find((t) => t.id === e.from)?.role === 'fact').map((e) => e.to),
  );
  const bridgeTargets = new Set(
    schema.edges
      .filter((e) => schema.tables.find((t) => t.id === e.from)?.role === 'bridge')
      .map((e) => e.to),
  );
  const left = dims.filter((d) => factTargets.has(d.id) && !bridgeTargets.has(d.id));
  const right = dims.filter((d) => !left.includes(d));
  const rows = Math.max(left.length, right.length, centre.length * 2, 1);
  const height = rows * (BOX_HEIGHT + ROW_GAP) + ROW_GAP;
  const placed = new Map<string, Placed>();
  const column = (tables: StarTable[], x: number) => {
    const span = tables.length * (BOX_HEIGHT + ROW_GAP) - ROW_GAP;
    const top = (height - span) / 2;
    tables.forEach((table, i) => {
      placed.set(table.id, { table, x, y: top + i * (BOX_HEIGHT + ROW_GAP) });
    });
  };
  column(left, 16);
  column(right, width - BOX_WIDTH - 16);
  // The middle column spreads out, so edges to the left and right columns do not cross its boxes.
  const middle = (width - BOX_WIDTH) / 2;
  const spacing = centre.length > 1 ? (height - 2 * ROW_GAP - BOX_HEIGHT) / (centre.length - 1) : 0;
  centre.forEach((table, i) => {
    const y = centre.length > 1 ? ROW_GAP + i * spacing : (height - BOX_HEIGHT) / 2;
    placed.set(table.id, { table, x: middle, y });
  });
  const siblings = new Map<string, string[]>();
  for (const edge of schema.edges) {
    const pair = `${edge.from}->${edge.to}`;
    siblings.set(pair, [...(siblings.get(pair) ?? []), edge.column]);
  }
  return { placed, height, siblings };
}

/** The star schema as a diagram; each FK edge shows its missing and unknown members, and lists them on a click. */
export function StarSchemaView({ client }: { client: Client }) {
  const [schema, setSchema] = useState<StarSchema | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<StarEdge | null>(null);
  const [kind, setKind] = useState<OrphanKind>('all');
  const [orphans, setOrphans] = useState<StarOrphans | null>(null);
  const [width, setWidth] = useState(1200);
  const [canvas, setCanvas] = useState<HTMLDivElement | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setSchema(await client.call('star.schema'));
    } catch (e) {
      setError(describeError(e));
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (!canvas) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(760, Math.floor(entry.contentRect.width)));
    });
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [canvas]);

  useEffect(() => {
    if (!selected) return;
    let live = true;
    setOrphans(null);
    client
      .call('star.orphans', {
        from: selected.from,
        column: selected.column,
        to: selected.to,
        kind,
        limit: 500,
      })
      .then(
        (result) => live && setOrphans(result),
        (e) => live && setError(describeError(e)),
      );
    return () => {
      live = false;
    };
  }, [client, selected, kind]);

  const layout = schema ? placeTables(schema, width) : null;

  return (
    <section className="view star-view">
      <div className="toolbar">
        <strong>Star schema</strong>
        <span className="muted">
          Edges are the relationships tests of the models; counts are rows pointing at a missing member or at
          the unknown member (key 0). Click an edge to list them.
        </span>
        <button type="button" data-testid="star-refresh" onClick={load}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="error" data-testid="star-error">
          {error}
        </p>
      )}
      <div
        className="star-canvas"
        ref={setCanvas}
        style={{ height: layout?.height ?? 200 }}
        data-testid="star-diagram"
      >
        {schema && layout && (
          <>
            <svg className="graph-edges" width={width} height={layout.height} aria-hidden="true">
              {schema.edges.map((edge) => {
                const path = edgePath(edge, layout);
                if (!path) return null;
                const classes = ['star-edge'];
                if (edge.missing > 0) classes.push('has-missing');
                if (selected && edgeId(selected) === edgeId(edge)) classes.push('selected');
                return <path key={edgeId(edge)} d={path.d} className={classes.join(' ')} />;
              })}
            </svg>
            {[...layout.placed.values()].map(({ table, x, y }) => (
              <div
                key={table.id}
                className={`star-table role-${table.role}`}
                data-testid={`star-table-${table.id}`}
                style={{ left: x, top: y, width: BOX_WIDTH, height: BOX_HEIGHT }}
                title={table.id}
              >
                <span className="star-name">{table.id.replace(/^gold\./, '')}</span>
                <span className="star-meta">
                  {table.role} · {table.rows === null ? 'not built' : `${table.rows.toLocaleString()} rows`}
                </span>
                <span className="star-meta">key {table.key.join(', ') || '—'}</span>
              </div>
            ))}
            {schema.edges.map((edge) => {
              const path = edgePath(edge, layout);
              if (!path) return null;
              const isSelected = selected !== null && edgeId(selected) === edgeId(edge);
              const classes = ['star-edge-label'];
              if (edge.missing > 0) classes.push('has-missing');
              else if (edge.unknown > 0) classes.push('has-unknown');
              if (isSelected) classes.push('selected');
              return (
                <button
                  type="button"
                  key={edgeId(edge)}
                  className={classes.join(' ')}
                  data-testid={`star-edge-${edgeId(edge)}`}
                  data-missing={edge.missing}
                  data-unknown={edge.unknown}
                  style={{ left: path.label.x, top: path.label.y }}
                  title={`${edge.from}.${edge.column} → ${edge.to}.${edge.field}: ${edge.rows.toLocaleString()} rows checked`}
                  onClick={() => {
                    setKind('all');
                    setSelected(edge);
                  }}
                >
                  {edge.column}
                  {edge.checked ? (
                    <>
                      {' · '}
                      <span data-testid="edge-missing">{edge.missing.toLocaleString()}</span> missing ·{' '}
                      <span data-testid="edge-unknown">{edge.unknown.toLocaleString()}</span> unknown
                    </>
                  ) : (
                    ' · not built'
                  )}
                </button>
              );
            })}
          </>
        )}
      </div>
      {selected && (
        <div className="orphans-panel" data-testid="orphans-panel">
          <div className="toolbar">
            <strong>
              {selected.from}.{selected.column} → {selected.to}.{selected.field}
            </strong>
            <label className="field">
              Show
              <select
                data-testid="orphan-kind"
                value={kind}
                onChange={(e) => setKind(e.target.value as OrphanKind)}
              >
                <option value="all">missing and unknown</option>
                <option value="missing">missing members</option>
                <option value="unknown">unknown member (key 0)</option>
              </select>
            </label>
            {orphans && (
              <span className="muted" data-testid="orphans-total" data-total={orphans.total}>
                {orphans.total.toLocaleString()} row(s)
                {orphans.total > orphans.rows.length ? `, first ${orphans.rows.length} shown` : ''}
              </span>
            )}
          </div>
          {orphans && <DataGrid columns={orphans.columns} rows={orphans.rows} testId="orphans-grid" />}
        </div>
      )}
    </section>
  );
}

/**
 * A curve from the referencing table's side to the dimension's; edges between the same two tables
 * fan out, and each label sits at its own height near the middle.
 */
function edgePath(edge: StarEdge, layout: Layout): { d: string; label: { x: number; y: number } } | null {
  const from = layout.placed.get(edge.from);
  const to = layout.placed.get(edge.to);
  if (!from || !to) return null;
  const siblings = layout.siblings.get(`${edge.from}->${edge.to}`) ?? [edge.column];
  const index = Math.max(0, siblings.indexOf(edge.column));
  const count = siblings.length;
  const offset = (index - (count - 1) / 2) * LABEL_GAP;
  const toRight = to.x > from.x;
  const x1 = toRight ? from.x + BOX_WIDTH : from.x;
  const x2 = toRight ? to.x : to.x + BOX_WIDTH;
  const y1 = from.y + BOX_HEIGHT / 2 + offset / 3;
  const y2 = to.y + BOX_HEIGHT / 2 + offset / 3;
  const mx = (x1 + x2) / 2;
  const label = { x: mx, y: (y1 + y2) / 2 + offset };
  return { d: `M${x1},${y1} C${mx},${y1} ${mx},${label.y} ${mx},${label.y} S${mx},${y2} ${x2},${y2}`, label };
}
