import { tableFromIPC } from 'apache-arrow';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Column, ColumnFilter, SortKey } from '../../../engine/api/contract.ts';
import type { CellValue } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import type { Client } from './client.ts';

/** Rows per table.window call. */
export const BLOCK_ROWS = 200;
/** Blocks kept in memory (the farthest from the screen go first). */
const MAX_BLOCKS = 60;
/** Calls in flight at once: the engine answers one after another, so more only queues stale requests. */
const MAX_IN_FLIGHT = 2;

/** A table read in one order, through one set of filters. */
export interface TableView {
  /** Identifies the view: the grid goes back to the top when the view on screen changes. */
  key: string;
  table: string;
  sort: SortKey[];
  filters: ColumnFilter[];
}

export interface TableWindows {
  columns: Column[] | null;
  /** Rows that pass the filters; null until the first window arrives. */
  totalRows: number | null;
  getRow: (index: number) => CellValue[] | undefined;
  onVisibleRangeChange: (first: number, last: number) => void;
  /** Bumps when a block arrives (the grid repaints). */
  version: number;
  error: string | null;
  /** Milliseconds the first window of this view took (shown in the status line). */
  firstWindowMs: number | null;
  /**
   * The view whose rows are on screen. A new sort or filter of the same table replaces it only once its
   * first window arrives, so a refused one leaves these rows (and their count) as they were.
   */
  shown: TableView | null;
  /** A view other than `shown` was asked for and is being read. */
  loading: boolean;
  /** The view asked for was refused (`error` says why, e.g. a filter value not of its column's type). */
  refused: boolean;
}

/** Decodes a table.window Arrow stream into rows of cells, column order as the table's. */
function decodeRows(arrow: Uint8Array, columnCount: number): CellValue[][] {
  const table = tableFromIPC(arrow);
  const vectors = Array.from({ length: columnCount }, (_, j) => table.getChildAt(j));
  const rows: CellValue[][] = [];
  for (let i = 0; i < table.numRows; i++) {
    rows.push(vectors.map((v) => (v ? (v.get(i) as CellValue) : null)));
  }
  return rows;
}

/**
 * A table as blocks of rows fetched on demand with table.window (Arrow on the wire). Only the blocks the
 * screen needs, nearest first, at most two calls in flight, so dragging the scrollbar across 10M rows
 * fetches where it stops, not everything it passed. A new table starts afresh; a new sort or filter of
 * the same table, or a new `generation` (the data changed), keeps the rows on screen until its first
 * window has arrived.
 */
export function useTableWindows(
  client: Client,
  table: string | null,
  sort: SortKey[],
  filters: ColumnFilter[],
  generation = 0,
): TableWindows {
  const [columns, setColumns] = useState<Column[] | null>(null);
  const [totalRows, setTotalRows] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [firstWindowMs, setFirstWindowMs] = useState<number | null>(null);
  const [shown, setShown] = useState<TableView | null>(null);
  const [loading, setLoading] = useState(false);
  const [refused, setRefused] = useState(false);
  const state = useRef({
    /** The key of the view last asked for: answers for any other are dropped. */
    requested: '',
    /** The view the blocks belong to. */
    shown: null as TableView | null,
    blocks: new Map<number, CellValue[][]>(),
    pending: new Set<number>(),
    wanted: [0, 0] as [number, number],
    columnCount: 0,
    total: 0,
  });

  const key = JSON.stringify({ table, sort, filters, generation });

  // Fetches the blocks the screen needs of the view on screen (never of one still being asked for).
  const pump = useCallback(() => {
    const s = state.current;
    const view = s.shown;
    if (!view || s.pending.size >= MAX_IN_FLIGHT) return;
    const [from, to] = s.wanted;
    const lastBlock = Math.max(0, Math.floor(Math.max(0, s.total - 1) / BLOCK_ROWS));
    // Nearest the screen first: the visible blocks, then one either side.
    const candidates: number[] = [];
    for (let b = from; b <= to; b++) candidates.push(b);
    candidates.push(to + 1, from - 1);
    const next = candidates.find((b) => b >= 0 && b <= lastBlock && !s.blocks.has(b) && !s.pending.has(b));
    if (next === undefined) return;
    const { blocks, pending } = s;
    pending.add(next);
    client
      .call('table.window', {
        table: view.table,
        offset: next * BLOCK_ROWS,
        limit: BLOCK_ROWS,
        sort: view.sort,
        filters: view.filters,
      })
      .then(
        (window) => {
          if (state.current.shown !== view) return;
          blocks.set(next, decodeRows(window.arrow, s.columnCount || window.columns.length));
          if (s.total !== window.totalRows) {
            s.total = window.totalRows;
            setTotalRows(window.totalRows);
          }
          if (blocks.size > MAX_BLOCKS) {
            const centre = (s.wanted[0] + s.wanted[1]) / 2;
            const farthest = [...blocks.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
            for (const b of farthest.slice(0, blocks.size - MAX_BLOCKS)) blocks.delete(b);
          }
          setVersion((v) => v + 1);
        },
        (e: unknown) => {
          if (state.current.shown === view) setError(describeError(e));
        },
      )
      .finally(() => {
        pending.delete(next);
        if (state.current.shown === view) pump();
      });
    pump();
  }, [client]);

  // A new view: read its first window (columns, row count) and only then put it on screen.
  useEffect(() => {
    const s = state.current;
    s.requested = key;
    setRefused(false);
    // Back to the view on screen (a refused one taken back): nothing to read, and its error stays.
    if (s.shown?.key === key) {
      setLoading(false);
      return;
    }
    setError(null);
    if (table !== s.shown?.table) {
      // Another table (or none): the last one's rows must not stand under the new name while it loads.
      s.shown = null;
      s.blocks = new Map();
      s.pending = new Set();
      setShown(null);
      setColumns(null);
      setTotalRows(null);
      setFirstWindowMs(null);
    }
    if (!table) {
      setLoading(false);
      return;
    }
    setLoading(true);
    const started = performance.now();
    client.call('table.window', { table, offset: 0, limit: BLOCK_ROWS, sort, filters }).then(
      (window) => {
        if (state.current.requested !== key) return;
        const view = { key, table, sort, filters };
        s.shown = view;
        s.blocks = new Map([[0, decodeRows(window.arrow, window.columns.length)]]);
        s.pending = new Set();
        s.wanted = [0, 0];
        s.columnCount = window.columns.length;
        s.total = window.totalRows;
        setShown(view);
        setFirstWindowMs(Math.round(performance.now() - started));
        // A fresh array even for the same columns: the grid goes back to the top of the new order.
        setColumns(window.columns);
        setTotalRows(window.totalRows);
        setLoading(false);
        setVersion((v) => v + 1);
        pump();
      },
      (e: unknown) => {
        if (state.current.requested !== key) return;
        setError(describeError(e));
        setLoading(false);
        setRefused(s.shown !== null);
      },
    );
  }, [key, client, table, sort, filters, pump]);

  const getRow = useCallback((index: number): CellValue[] | undefined => {
    const block = state.current.blocks.get(Math.floor(index / BLOCK_ROWS));
    return block?.[index % BLOCK_ROWS];
  }, []);

  const onVisibleRangeChange = useCallback(
    (first: number, last: number) => {
      state.current.wanted = [Math.floor(first / BLOCK_ROWS), Math.floor(last / BLOCK_ROWS)];
      pump();
    },
    [pump],
  );

  return {
    columns,
    totalRows,
    getRow,
    onVisibleRangeChange,
    version,
    error,
    firstWindowMs,
    shown,
    loading,
    refused,
  };
}
