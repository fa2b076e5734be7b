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
  /** Identifies the table, sort and filters shown: the grid goes back to the top when it changes. */
  viewKey: string;
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
 * fetches where it stops, not everything it passed. A new table, sort or filter starts afresh.
 */
export function useTableWindows(
  client: Client,
  table: string | null,
  sort: SortKey[],
  filters: ColumnFilter[],
): TableWindows {
  const [columns, setColumns] = useState<Column[] | null>(null);
  const [totalRows, setTotalRows] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [firstWindowMs, setFirstWindowMs] = useState<number | null>(null);
  const state = useRef({
    key: '',
    blocks: new Map<number, CellValue[][]>(),
    pending: new Set<number>(),
    wanted: [0, 0] as [number, number],
    columnCount: 0,
    total: 0,
  });

  const key = JSON.stringify({ table, sort, filters });

  const pump = useCallback(() => {
    const s = state.current;
    if (!table || s.pending.size >= MAX_IN_FLIGHT) return;
    const [from, to] = s.wanted;
    const lastBlock = Math.max(0, Math.floor(Math.max(0, s.total - 1) / BLOCK_ROWS));
    // Nearest the screen first: the visible blocks, then one either side.
    const candidates: number[] = [];
    for (let b = from; b <= to; b++) candidates.push(b);
    candidates.push(to + 1, from - 1);
    const next = candidates.find((b) => b >= 0 && b <= lastBlock && !s.blocks.has(b) && !s.pending.has(b));
    if (next === undefined) return;
    const requestKey = s.key;
    s.pending.add(next);
    client
      .call('table.window', { table, offset: next * BLOCK_ROWS, limit: BLOCK_ROWS, sort, filters })
      .then(
        (window) => {
          if (state.current.key !== requestKey) return;
          s.blocks.set(next, decodeRows(window.arrow, s.columnCount || window.columns.length));
          if (s.total !== window.totalRows) {
            s.total = window.totalRows;
            setTotalRows(window.totalRows);
          }
          if (s.blocks.size > MAX_BLOCKS) {
            const centre = (s.wanted[0] + s.wanted[1]) / 2;
            const farthest = [...s.blocks.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
            for (const b of farthest.slice(0, s.blocks.size - MAX_BLOCKS)) s.blocks.delete(b);
          }
          setVersion((v) => v + 1);
        },
        (e: unknown) => {
          if (state.current.key === requestKey) setError(describeError(e));
        },
      )
      .finally(() => {
        s.pending.delete(next);
        if (state.current.key === requestKey) pump();
      });
    pump();
  }, [client, table, sort, filters]);

  // A new table, sort or filter: drop every block, read the first window for columns and the row count.
  useEffect(() => {
    const s = state.current;
    s.key = key;
    s.blocks = new Map();
    s.pending = new Set();
    s.wanted = [0, 0];
    s.total = 0;
    setError(null);
    setTotalRows(null);
    setFirstWindowMs(null);
    if (!table) {
      setColumns(null);
      return;
    }
    const started = performance.now();
    s.pending.add(0);
    client.call('table.window', { table, offset: 0, limit: BLOCK_ROWS, sort, filters }).then(
      (window) => {
        if (state.current.key !== key) return;
        s.pending.delete(0);
        s.columnCount = window.columns.length;
        s.total = window.totalRows;
        s.blocks.set(0, decodeRows(window.arrow, window.columns.length));
        setFirstWindowMs(Math.round(performance.now() - started));
        // A fresh array even for the same columns: the grid goes back to the top of the new order.
        setColumns(window.columns);
        setTotalRows(window.totalRows);
        setVersion((v) => v + 1);
        pump();
      },
      (e: unknown) => {
        if (state.current.key !== key) return;
        s.pending.delete(0);
        setError(describeError(e));
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

  return { columns, totalRows, getRow, onVisibleRangeChange, version, error, firstWindowMs, viewKey: key };
}
