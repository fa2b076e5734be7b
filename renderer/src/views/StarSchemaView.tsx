import { useCallback, useEffect, useState } from 'react';
import type {
  OrphanKind,
  StarEdge,
  StarOrphans,
  StarSchema,
  StarTable,
} from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import type { SchemaSession } from '../explore-sessions.ts';
import './explore.css';

const BOX_WIDTH = 200;
const BOX_HEIGHT = 64;
const ROW_GAP = 36;
const MARGIN = 16;
/** Edge labels (two lines) stack beside the table they point at, this far apart. */
const LABEL_PITCH = 42;
/** The smallest the diagram is scaled to fit its canvas; narrower than that, the canvas scrolls. */
const MIN_SCALE = 0.7;
/** Room kept for a label beside its table; a longer label grows away from the table. */
const LABEL_WIDTH = 220;
/** Between a table and its labels, where the stacked edges fan into the table's side. */
const LABEL_INSET = 22;
/** Horizontal room for the curves between a column's labels and the middle column. */
const CURVE_ROOM = 44;

type Side = 'left' | 'right';

interface Placed {
  table: StarTable;
  x: number;
  y: number;
}

interface PlacedEdge {
  edge: StarEdge;
  d: string;
  /** Where the label's side nearest its table sits; `side` says which side of the table it is on. */
  label: { x: number; y: number; side: Side };
  /** The column, prefixed with its table when edges from several tables point at the same one. */
  name: string;
}

interface Layout {
  width: number;
  height: number;
  placed: Map<string, Placed>;
  edges: PlacedEdge[];
}

function edgeId(edge: StarEdge): string {
  return `${edge.from}.${edge.column}`;
}

function shortName(tableId: string): string {
  return tableId.replace(/^gold\./, '');
}

/** Whether every referencing row points at the unknown member (key 0), e.g. a column the data never fills. */
function allUnknown(edge: StarEdge): boolean {
  return edge.rows > 0 && edge.unknown === edge.rows;
}

/** Items grouped by a key, groups and items in first-seen order. */
function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** Offsets of `count` items spread `step` apart, centred on 0. */
function spread(count: number, step: number): number[] {
  return Array.from({ length: count }, (_, i) => (i - (count - 1) / 2) * step);
}

/**
 * Facts and bridges in the middle column; dimensions the facts point at on the left, the others (those
 * only bridges point at, or none) on the right. Each edge's label sits beside the table it points at,
 * stacked with that table's other labels, so a label reads as its own edge and never covers another;
 * a table gets as much height as its stack needs.
 */
function layoutStar(schema: StarSchema, availableWidth: number): Layout {
  const roleOf = new Map(schema.tables.map((t) => [t.id, t.role]));
  const centre = schema.tables.filter((t) => t.role !== 'dimension');
  const dims = schema.tables.filter((t) => t.role === 'dimension');
  const targetsOf = (role: StarTable['role']) =>
    new Set(schema.edges.filter((e) => roleOf.get(e.from) === role).map((e) => e.to));
  const factTargets = targetsOf('fact');
  const bridgeTargets = targetsOf('bridge');
  const left = dims.filter((d) => factTargets.has(d.id) && !bridgeTargets.has(d.id));
  const right = dims.filter((d) => !left.includes(d));
  const columnOf = new Map<string, number>();
  for (const [index, tables] of [left, centre, right].entries()) {
    for (const table of tables) columnOf.set(table.id, index);
  }
  const drawn = schema.edges.filter((e) => columnOf.has(e.from) && columnOf.has(e.to));

  // The side of `table` that faces `other`; within one column, the side facing the middle.
  const sideFacing = (table: string, other: string): Side => {
    const [own, theirs] = [columnOf.get(table) ?? 1, columnOf.get(other) ?? 1];
    if (theirs !== own) return theirs < own ? 'left' : 'right';
    return own === 2 ? 'left' : 'right';
  };
  const stackKey = (table: string, side: Side) => `${table}|${side}`;
  const stacks = groupBy(drawn, (e) => stackKey(e.to, sideFacing(e.to, e.from)));
  const slotHeight = (table: StarTable) =>
    Math.max(
      BOX_HEIGHT,
      ...(['left', 'right'] as const).map(
        (side) => (stacks.get(stackKey(table.id, side))?.length ?? 0) * LABEL_PITCH,
      ),
    );
  const span = (tables: StarTable[]) =>
    tables.reduce((sum, t) => sum + slotHeight(t), 0) + Math.max(0, tables.length - 1) * ROW_GAP;
  const height =
    Math.max(span(left), span(right), centre.length * 2 * (BOX_HEIGHT + ROW_GAP) - ROW_GAP, BOX_HEIGHT) +
    2 * ROW_GAP;
  // Narrower than this, labels would reach the middle column: the canvas scrolls instead.
  const sideBlock = MARGIN + BOX_WIDTH + LABEL_INSET + LABEL_WIDTH + CURVE_ROOM;
  const width = Math.max(availableWidth, 2 * sideBlock + BOX_WIDTH);

  const placed = new Map<string, Placed>();
  const placeColumn = (tables: StarTable[], x: number) => {
    let top = (height - span(tables)) / 2;
    for (const table of tables) {
      const slot = slotHeight(table);
      placed.set(table.id, { table, x, y: top + (slot - BOX_HEIGHT) / 2 });
      top += slot + ROW_GAP;
    }
  };
  placeColumn(left, MARGIN);
  placeColumn(right, width - BOX_WIDTH - MARGIN);
  // The middle column spreads out, so edges to the left and right columns do not cross its boxes.
  const middle = (width - BOX_WIDTH) / 2;
  const spacing = centre.length > 1 ? (height - 2 * ROW_GAP - BOX_HEIGHT) / (centre.length - 1) : 0;
  centre.forEach((table, i) => {
    const y = centre.length > 1 ? ROW_GAP + i * spacing : (height - BOX_HEIGHT) / 2;
    placed.set(table.id, { table, x: middle, y });
  });

  const topOf = (id: string) => placed.get(id)?.y ?? 0;
  const centreY = (id: string) => topOf(id) + BOX_HEIGHT / 2;
  const sideX = (id: string, side: Side) => (placed.get(id)?.x ?? 0) + (side === 'right' ? BOX_WIDTH : 0);
  const labels = new Map<StarEdge, Pick<PlacedEdge, 'label' | 'name'>>();
  for (const stack of stacks.values()) {
    const { to, from } = stack[0] as StarEdge;
    const side = sideFacing(to, from);
    // Labels in the order of the tables they come from, so the curves do not cross each other.
    const ordered = [...stack].sort((a, b) => centreY(a.from) - centreY(b.from));
    const severalSources = new Set(stack.map((e) => e.from)).size > 1;
    const offsets = spread(ordered.length, LABEL_PITCH);
    ordered.forEach((edge, i) => {
      labels.set(edge, {
        label: {
          x: sideX(to, side) + (side === 'right' ? LABEL_INSET : -LABEL_INSET),
          y: centreY(to) + (offsets[i] ?? 0),
          side,
        },
        name: severalSources ? `${shortName(edge.from)}.${edge.column}` : edge.column,
      });
    });
  }
  const labelY = (edge: StarEdge) => labels.get(edge)?.label.y ?? 0;
  // Where each edge leaves its table: spread over the side, in the order of the labels they lead to.
  const departures = new Map<StarEdge, number>();
  for (const group of groupBy(drawn, (e) => stackKey(e.from, sideFacing(e.from, e.to))).values()) {
    const ordered = [...group].sort((a, b) => labelY(a) - labelY(b));
    const offsets = spread(ordered.length, Math.min(8, (BOX_HEIGHT - 16) / Math.max(1, ordered.length - 1)));
    ordered.forEach((edge, i) => {
      departures.set(edge, centreY(edge.from) + (offsets[i] ?? 0));
    });
  }

  const edges: PlacedEdge[] = [];
  for (const edge of drawn) {
    const placedLabel = labels.get(edge);
    const y1 = departures.get(edge);
    if (!placedLabel || y1 === undefined) continue;
    const { label } = placedLabel;
    const x1 = sideX(edge.from, sideFacing(edge.from, edge.to));
    // The curve arrives at the label's far end; the label covers the straight run to its table, where
    // the line bends into the side within the box's height.
    const labelEnd = label.x + (label.side === 'right' ? LABEL_WIDTH : -LABEL_WIDTH);
    const mx = (x1 + labelEnd) / 2;
    const y2 = Math.min(Math.max(label.y, topOf(edge.to) + 10), topOf(edge.to) + BOX_HEIGHT - 10);
    const d = `M${x1},${y1} C${mx},${y1} ${mx},${label.y} ${labelEnd},${label.y} L${label.x},${label.y} L${sideX(edge.to, label.side)},${y2}`;
    edges.push({ edge, d, ...placedLabel });
  }
  return { width, height, placed, edges };
}

/** An edge's counts in words; an edge whose every row points at the unknown member says so plainly. */
function orphanCounts(edge: StarEdge): string {
  if (!edge.checked) return 'not built';
  if (allUnknown(edge)) return `all ${edge.rows.toLocaleString()} rows → unknown (key 0)`;
  return `${edge.missing.toLocaleString()} missing · ${edge.unknown.toLocaleString()} unknown`;
}

/**
 * The star schema as a diagram; each FK edge shows its missing and unknown members, and lists them on a
 * click. The edge clicked and the kind of orphans listed outlive the view in `session`.
 */
export function StarSchemaView({ client, session }: { client: Client; session: SchemaSession }) {
  const [schema, setSchema] = useState<StarSchema | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<StarEdge | null>(null);
  const [kind, setKind] = useState<OrphanKind>(session.kind);
  // The edge clicked before the tab was left, found again (with its counts as now) once the diagram is read.
  useEffect(() => {
    if (!schema || session.selectedEdge === null) return;
    setSelected((shown) => shown ?? schema.edges.find((e) => edgeId(e) === session.selectedEdge) ?? null);
  }, [schema, session]);
  const [orphans, setOrphans] = useState<StarOrphans | null>(null);
  // Shown in the list's panel, where the view scrolls on a click, and only for the edge it was asked for.
  const [orphansError, setOrphansError] = useState<string | null>(null);
  const [width, setWidth] = useState(1200);
  const [canvas, setCanvas] = useState<HTMLDivElement | null>(null);
  const [orphansPanel, setOrphansPanel] = useState<HTMLDivElement | null>(null);

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
      if (entry) setWidth(Math.floor(entry.contentRect.width));
    });
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [canvas]);

  useEffect(() => {
    if (!selected) return;
    let live = true;
    setOrphans(null);
    setOrphansError(null);
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
        (e) => live && setOrphansError(describeError(e)),
      );
    return () => {
      live = false;
    };
  }, [client, selected, kind]);

  // The list opens under the diagram: in a short window (1024x640) that is below the fold, so the view
  // scrolls to it whenever an edge is chosen.
  useEffect(() => {
    if (selected) orphansPanel?.scrollIntoView({ block: 'nearest' });
  }, [selected, orphansPanel]);

  const layout = schema ? layoutStar(schema, width) : null;
  // A canvas narrower than the diagram needs shows it scaled down to fit (a 1024-px window: about 0.8),
  // so the right column is never cut off; below MIN_SCALE it keeps that size and scrolls instead.
  const scale = layout ? Math.max(MIN_SCALE, Math.min(1, width / layout.width)) : 1;

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
        <p className="error" role="alert" data-testid="star-error">
          {error}
        </p>
      )}
      <div
        className="star-canvas"
        ref={setCanvas}
        style={{ height: layout ? layout.height * scale : 200 }}
        data-testid="star-diagram"
        data-scale={scale.toFixed(2)}
      >
        {layout && (
          <div
            className="star-scaled"
            style={{ width: layout.width, height: layout.height, transform: `scale(${scale})` }}
          >
            <svg className="graph-edges" width={layout.width} height={layout.height} aria-hidden="true">
              {layout.edges.map(({ edge, d }) => {
                const classes = ['star-edge'];
                if (edge.missing > 0) classes.push('has-missing');
                if (selected && edgeId(selected) === edgeId(edge)) classes.push('selected');
                return <path key={edgeId(edge)} d={d} className={classes.join(' ')} />;
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
                <span className="star-name">{shortName(table.id)}</span>
                <span className="star-meta">
                  {table.role} · {table.rows === null ? 'not built' : `${table.rows.toLocaleString()} rows`}
                </span>
                <span className="star-meta">key {table.key.join(', ') || '—'}</span>
              </div>
            ))}
            {layout.edges.map(({ edge, label, name }) => {
              const isSelected = selected !== null && edgeId(selected) === edgeId(edge);
              const classes = ['star-edge-label', `beside-${label.side}`];
              if (edge.missing > 0) classes.push('has-missing');
              else if (edge.unknown > 0) classes.push('has-unknown');
              if (isSelected) classes.push('selected');
              return (
                <button
                  type="button"
                  key={edgeId(edge)}
                  className={classes.join(' ')}
                  data-testid={`star-edge-${edgeId(edge)}`}
                  data-to={edge.to}
                  data-missing={edge.missing}
                  data-unknown={edge.unknown}
                  style={{ left: label.x, top: label.y, minWidth: LABEL_WIDTH }}
                  title={`${edge.from}.${edge.column} → ${edge.to}.${edge.field}: ${edge.rows.toLocaleString()} rows checked`}
                  onClick={() => {
                    setKind('all');
                    setSelected(edge);
                    Object.assign(session, { selectedEdge: edgeId(edge), kind: 'all' });
                  }}
                >
                  <span className="star-edge-name">{name}</span>
                  <span data-testid="edge-counts">{orphanCounts(edge)}</span>
                </button>
              );
            })}
          </div>
        )}
      </div>
      {selected && (
        <div className="orphans-panel" data-testid="orphans-panel" ref={setOrphansPanel}>
          <div className="toolbar">
            <strong>
              {selected.from}.{selected.column} → {selected.to}.{selected.field}
            </strong>
            <label className="field">
              Show
              <select
                data-testid="orphan-kind"
                value={kind}
                onChange={(e) => {
                  setKind(e.target.value as OrphanKind);
                  session.kind = e.target.value as OrphanKind;
                }}
              >
                <option value="all">missing and unknown</option>
                <option value="missing">missing members</option>
                <option value="unknown">unknown member (key 0)</option>
              </select>
            </label>
            {orphans && (
              <span className="muted" data-testid="orphans-total" data-total={orphans.total}>
                {orphans.total.toLocaleString()} {inNumber(orphans.total, 'row')}
                {orphans.total > orphans.rows.length ? `, first ${orphans.rows.length} shown` : ''}
              </span>
            )}
          </div>
          {selected.unknown > 0 && kind !== 'missing' && (
            <p className="muted orphans-note" data-testid="orphans-unknown-note">
              {allUnknown(selected)
                ? `All ${selected.rows.toLocaleString()} rows point`
                : `${selected.unknown.toLocaleString()} ${inNumber(selected.unknown, 'row points', 'rows point')}`}{' '}
              at the unknown member (key 0) of {shortName(selected.to)}: the member a model assigns when the
              value is absent or matches nothing, not a broken reference.
            </p>
          )}
          {orphansError && (
            <p className="error" role="alert" data-testid="orphans-error">
              {orphansError}
            </p>
          )}
          {orphans && <DataGrid columns={orphans.columns} rows={orphans.rows} testId="orphans-grid" />}
        </div>
      )}
    </section>
  );
}
