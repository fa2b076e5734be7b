import {
  type KeyboardEvent,
  type PointerEvent as ReactPointerEvent,
  useCallback,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { Column, JsonRow, JsonValue, SortKey } from '../../../engine/api/contract.ts';

/** A cell as the grid gets it: JSON values from query.run, Arrow values (bigint for BIGINT) from table.window. */
export type CellValue = JsonValue | bigint | undefined;

export const ROW_HEIGHT = 28;
const HEADER_HEIGHT = 44;
const GUTTER_WIDTH = 72;
const OVERSCAN = 4;
// Browsers cap an element's height (Chromium near 33M px): past this the scrollbar maps onto rows proportionally.
const MAX_SCROLL_HEIGHT = 8_000_000;

/** DuckDB's text of a timestamp: seconds, their fraction if any, then a time zone offset if any. */
const TIMESTAMP_TEXT = /^(\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?(.*)$/;

/**
 * Timestamps always show milliseconds: DuckDB's text drops trailing zeros, so one column read 00:21:11
 * beside 00:09:26.645 and 00:15:55.91. Finer digits, where a value has them, are kept (padded to micro-
 * or nanoseconds) rather than cut off.
 */
function withMilliseconds(text: string): string {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) return text;
  const [, seconds, fraction = '', zone] = match;
  return `${seconds}.${fraction.padEnd(Math.max(3, Math.ceil(fraction.length / 3) * 3), '0')}${zone}`;
}

/** A cell's text in the grid: NULL as empty, nested values as JSON, timestamps with milliseconds. */
export function formatCell(value: CellValue, type: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'string' && type.startsWith('TIMESTAMP') && type !== 'TIMESTAMP_S') {
    return withMilliseconds(value);
  }
  return String(value);
}

/** Line breaks and tabs in a cell's text, each shown as a marker: the one-line cell would make them spaces. */
const CONTROL_CHARACTERS = /(\r\n|\n|\r|\t)/;

/**
 * A cell's text on its one line, a dim ↵ for each line break and → for each tab: white-space: nowrap showed
 * 'a\nb' as 'a b', the same as a space. The cell's title and Enter's dialog keep the value as it is.
 */
export function CellText({ text }: { text: string }) {
  if (!CONTROL_CHARACTERS.test(text)) return <>{text}</>;
  return (
    <>
      {text.split(CONTROL_CHARACTERS).map((part, i) =>
        i % 2 === 0 ? (
          part
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed text, in order
          <span key={i} className="vgrid-control" data-testid="grid-control-character">
            {part === '\t' ? '→' : '↵'}
          </span>
        ),
      )}
    </>
  );
}

function isNumericType(type: string): boolean {
  return /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(
    type,
  );
}

/** Characters the widest value of a type takes as the grid shows it; undefined for free text. */
function widestValue(type: string): number | undefined {
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return Number(decimal[1]) + 2; // sign and point
  const widths: Record<string, number> = {
    TINYINT: 4,
    UTINYINT: 3,
    SMALLINT: 6,
    USMALLINT: 5,
    INTEGER: 11,
    UINTEGER: 10,
    BIGINT: 20,
    UBIGINT: 20,
    HUGEINT: 40,
    UHUGEINT: 39,
    FLOAT: 14,
    REAL: 14,
    DOUBLE: 24,
    BOOLEAN: 5,
    DATE: 10,
    TIME: 15,
    TIMESTAMP_S: 19,
    TIMESTAMP_MS: 23,
    TIMESTAMP: 26, // microseconds
    TIMESTAMP_NS: 29,
    'TIMESTAMP WITH TIME ZONE': 29,
  };
  return widths[type];
}

// A digit's width at the grid's 12.5 px: 7.95 px in DejaVu Sans (system-ui on Debian), the widest of the
// fonts system-ui picks; at 7.5 a UBIGINT's or HUGEINT's widest value ended in an ellipsis.
const CHAR_WIDTH = 8;
const CELL_PADDING = 24;
const MIN_COLUMN_WIDTH = 48;
const MAX_COLUMN_WIDTH = 1200;

/**
 * A column's starting width: its type's widest value fits (a BIGINT's 20 digits, a timestamp's
 * microseconds), or 220 px of text, and its name; the user drags a header's edge for more.
 */
function columnWidth(column: Column): number {
  const chars = widestValue(column.type);
  const byType = chars === undefined ? 220 : Math.max(70, Math.ceil(chars * CHAR_WIDTH + CELL_PADDING));
  return Math.min(360, Math.max(byType, column.name.length * 8 + 36));
}

/** Where a navigation key moves the active cell; null for keys that do not move it. */
function nextCell(
  key: string,
  ctrl: boolean,
  active: ActiveCell,
  pageRows: number,
  rowCount: number,
  columnCount: number,
): ActiveCell | null {
  switch (key) {
    case 'ArrowDown':
      return { ...active, row: active.row + 1 };
    case 'ArrowUp':
      return { ...active, row: active.row - 1 };
    case 'ArrowRight':
      return { ...active, col: active.col + 1 };
    case 'ArrowLeft':
      return { ...active, col: active.col - 1 };
    case 'PageDown':
      return { ...active, row: active.row + pageRows };
    case 'PageUp':
      return { ...active, row: active.row - pageRows };
    case 'Home':
      return ctrl ? { row: 0, col: active.col } : { ...active, col: 0 };
    case 'End':
      return ctrl ? { row: rowCount - 1, col: active.col } : { ...active, col: columnCount - 1 };
    default:
      return null;
  }
}

export interface DataGridProps {
  columns: Column[];
  /** Rows held in memory (a query's result)… */
  rows?: JsonRow[];
  /** …or a window source: the row count and a lookup that answers undefined for rows not fetched yet. */
  rowCount?: number;
  getRow?: (index: number) => CellValue[] | undefined;
  /** Rows on screen changed (fetch them); called with the first and last index shown. */
  onVisibleRangeChange?: (first: number, last: number) => void;
  /** The engine sorts: a header click cycles ascending, descending, unsorted. */
  sort?: SortKey[];
  onSortChange?: (sort: SortKey[]) => void;
  /** A header's profile button; the column shown as profiled. */
  onProfileColumn?: (column: string) => void;
  profiledColumn?: string | null;
  /** Changes whenever rows behind getRow arrive, so the grid repaints. */
  dataVersion?: number;
  /** When this changes the grid goes back to the top (a new result); default: the column names and types. */
  resetKey?: string | number;
  testId?: string;
}

interface ActiveCell {
  row: number;
  col: number;
}

/**
 * A virtualized grid: only the rows on screen are in the DOM, so 10M rows scroll like 100. Keyboard:
 * arrows move the active cell, PageUp/PageDown by a screen, Home/End to the first/last column,
 * Ctrl+Home/Ctrl+End to the first/last row, Enter opens the cell's full value, Escape closes it.
 * Long text ends in an ellipsis with the full text as the cell's title.
 */
export function DataGrid({
  columns,
  rows,
  rowCount: sourceRowCount,
  getRow: sourceGetRow,
  onVisibleRangeChange,
  sort = [],
  onSortChange,
  onProfileColumn,
  profiledColumn = null,
  dataVersion = 0,
  resetKey,
  testId = 'data-grid',
}: DataGridProps) {
  const scroller = useRef<HTMLDivElement>(null);
  // The focus stays on the grid itself: aria-activedescendant names the active cell to screen readers.
  const activeCellId = `${useId()}-active-cell`;
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState({ width: 800, height: 400 });
  const [active, setActive] = useState<ActiveCell>({ row: 0, col: 0 });
  const [openCell, setOpenCell] = useState<ActiveCell | null>(null);

  const rowCount = rows ? rows.length : (sourceRowCount ?? 0);
  const getRow = useCallback(
    (index: number): CellValue[] | undefined => {
      if (rows) {
        const row = rows[index];
        return row ? columns.map((c) => row[c.name]) : undefined;
      }
      return sourceGetRow?.(index);
    },
    [rows, columns, sourceGetRow],
  );

  // Widths the user dragged, by column name (a new table gets a fresh grid, so fresh widths).
  const [dragged, setDragged] = useState<Record<string, number>>({});
  const widths = useMemo(() => columns.map((c) => dragged[c.name] ?? columnWidth(c)), [columns, dragged]);
  const resizeTo = (column: string, width: number) =>
    setDragged((prev) => ({
      ...prev,
      [column]: Math.round(Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, width))),
    }));
  const startResize = (event: ReactPointerEvent<HTMLButtonElement>, column: string, from: number) => {
    event.preventDefault();
    event.stopPropagation();
    const handle = event.currentTarget;
    const startX = event.clientX;
    handle.setPointerCapture(event.pointerId);
    const move = (e: PointerEvent) => {
      const width = Math.round(
        Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, from + e.clientX - startX)),
      );
      setDragged((prev) => ({ ...prev, [column]: width }));
    };
    const stop = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', stop);
      handle.removeEventListener('pointercancel', stop);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', stop);
    handle.addEventListener('pointercancel', stop);
  };
  const lefts = useMemo(() => {
    const out: number[] = [];
    let x = GUTTER_WIDTH;
    for (const w of widths) {
      out.push(x);
      x += w;
    }
    return out;
  }, [widths]);
  const totalWidth = GUTTER_WIDTH + widths.reduce((a, b) => a + b, 0);

  const bodyHeight = Math.max(ROW_HEIGHT, viewport.height - HEADER_HEIGHT);
  const pageRows = Math.max(1, Math.floor(bodyHeight / ROW_HEIGHT));
  const fullHeight = rowCount * ROW_HEIGHT;
  const scrollHeight = Math.min(fullHeight, MAX_SCROLL_HEIGHT);
  const scaled = fullHeight > MAX_SCROLL_HEIGHT;
  // Index (fractional) of the row at the top of the body for a scroll position, and back.
  const maxScroll = Math.max(1, scrollHeight - bodyHeight);
  const maxFirst = Math.max(0, rowCount - bodyHeight / ROW_HEIGHT);
  const firstAt = (top: number) =>
    scaled ? (Math.min(top, maxScroll) / maxScroll) * maxFirst : top / ROW_HEIGHT;
  const scrollFor = (first: number) => (scaled ? (first / maxFirst) * maxScroll : first * ROW_HEIGHT);

  const firstFloat = firstAt(scrollTop);
  const first = Math.max(0, Math.floor(firstFloat) - OVERSCAN);
  const last = Math.min(rowCount - 1, Math.floor(firstFloat) + pageRows + OVERSCAN);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setViewport({ width: element.clientWidth, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A new result starts at the top. Callers may pass a fresh columns array each render, so the trigger
  // is a value, not the array.
  const reset = resetKey ?? columns.map((c) => `${c.name}:${c.type}`).join('\n');
  // biome-ignore lint/correctness/useExhaustiveDependencies: `reset` is the trigger, not an input
  useEffect(() => {
    setActive({ row: 0, col: 0 });
    setOpenCell(null);
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
  }, [reset]);

  useEffect(() => {
    if (rowCount > 0) onVisibleRangeChange?.(first, Math.max(first, last));
  }, [first, last, rowCount, onVisibleRangeChange]);

  const scrollToCell = (cell: ActiveCell) => {
    const element = scroller.current;
    if (!element) return;
    const top = firstAt(element.scrollTop);
    if (cell.row < top) element.scrollTop = scrollFor(cell.row);
    else if (cell.row > top + pageRows - 1) element.scrollTop = scrollFor(cell.row - pageRows + 1);
    const left = lefts[cell.col] ?? 0;
    const right = left + (widths[cell.col] ?? 0);
    if (left - GUTTER_WIDTH < element.scrollLeft) element.scrollLeft = left - GUTTER_WIDTH;
    else if (right > element.scrollLeft + element.clientWidth)
      element.scrollLeft = right - element.clientWidth;
    setScrollTop(element.scrollTop);
  };

  const move = (cell: ActiveCell) => {
    const next = {
      row: Math.max(0, Math.min(rowCount - 1, cell.row)),
      col: Math.max(0, Math.min(columns.length - 1, cell.col)),
    };
    setActive(next);
    scrollToCell(next);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    // Keys on a header's buttons are theirs: Enter there sorts or profiles, it opens no cell.
    if (event.target !== event.currentTarget) return;
    if (openCell) {
      if (event.key === 'Escape' || event.key === 'Enter') {
        setOpenCell(null);
        event.preventDefault();
      }
      return;
    }
    if (rowCount === 0) return;
    const ctrl = event.ctrlKey || event.metaKey;
    const target = nextCell(event.key, ctrl, active, pageRows, rowCount, columns.length);
    if (target) {
      event.preventDefault();
      move(target);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      setOpenCell(active);
    }
  };

  const cycleSort = (column: string) => {
    if (!onSortChange) return;
    const current = sort[0]?.column === column ? sort[0].direction : null;
    onSortChange(
      current === null
        ? [{ column, direction: 'asc' }]
        : current === 'asc'
          ? [{ column, direction: 'desc' }]
          : [],
    );
  };

  const bodyRows = [];
  for (let index = first; index <= last; index++) {
    const values = getRow(index);
    const top = HEADER_HEIGHT + scrollTop + (index - firstFloat) * ROW_HEIGHT;
    bodyRows.push(
      <tr
        key={index}
        className={`vgrid-row${index % 2 ? ' odd' : ''}`}
        style={{ top, width: totalWidth }}
        data-testid="grid-row"
        data-row={index}
        // biome-ignore lint/a11y/noRedundantRoles: the body table is presentational (role="presentation"), so its rows and cells name their grid roles
        role="row"
        aria-rowindex={index + 2}
      >
        {/* biome-ignore lint/a11y: the body table is presentational (role="presentation"), so its rows and cells name their grid roles */}
        <th className="vgrid-rownum" role="rowheader" aria-colindex={1} style={{ width: GUTTER_WIDTH }}>
          {(index + 1).toLocaleString()}
        </th>
        {columns.map((c, col) => {
          const isActive = active.row === index && active.col === col;
          const text = values ? formatCell(values[col], c.type) : '';
          const className = [
            'vgrid-cell',
            isNumericType(c.type) ? 'num' : '',
            values && (values[col] === null || values[col] === undefined) ? 'null' : '',
            isActive ? 'active' : '',
          ]
            .filter(Boolean)
            .join(' ');
          return (
            // biome-ignore lint/a11y: the body table is presentational (role="presentation"), so its rows and cells name their grid roles; the grid holds the focus, the active cell is its aria-activedescendant
            <td
              key={c.name}
              id={isActive ? activeCellId : undefined}
              // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: the body table is presentational (role="presentation"), so its rows and cells name their grid roles
              role="gridcell"
              aria-colindex={col + 2}
              aria-selected={isActive || undefined}
              className={className}
              style={{ width: widths[col] }}
              title={text}
              data-active={isActive || undefined}
              data-testid={isActive ? 'grid-active-cell' : undefined}
              onMouseDown={() => setActive({ row: index, col })}
              onDoubleClick={() => setOpenCell({ row: index, col })}
            >
              {values ? <CellText text={text} /> : <span className="vgrid-pending">…</span>}
            </td>
          );
        })}
      </tr>,
    );
  }

  const openValue = openCell ? getRow(openCell.row)?.[openCell.col] : undefined;
  const openColumn = openCell ? columns[openCell.col] : undefined;

  return (
    <div
      className="vgrid-frame"
      data-testid={`${testId}-frame`}
      // Small results get their natural height even where the parent gives the grid none.
      style={{ minHeight: Math.min(HEADER_HEIGHT + Math.max(1, rowCount) * ROW_HEIGHT + 20, 260) }}
    >
      {/* biome-ignore lint/a11y/useSemanticElements: a virtualized grid cannot be one <table> with every row */}
      <div
        ref={scroller}
        className="vgrid"
        role="grid"
        tabIndex={0}
        aria-rowcount={rowCount + 1}
        // The row numbers are a column too.
        aria-colcount={columns.length + 1}
        aria-activedescendant={
          rowCount > 0 && active.row >= first && active.row <= last ? activeCellId : undefined
        }
        data-testid={testId}
        data-row-count={rowCount}
        data-first-row={Math.floor(firstFloat)}
        data-version={dataVersion}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        onKeyDown={onKeyDown}
      >
        <div className="vgrid-content" style={{ height: HEADER_HEIGHT + scrollHeight, width: totalWidth }}>
          {/* biome-ignore lint/a11y: the header row is divs beside the virtualized body table; the grid itself holds the focus */}
          <div
            className="vgrid-header"
            role="row"
            aria-rowindex={1}
            style={{ height: HEADER_HEIGHT, width: totalWidth }}
          >
            {/* biome-ignore lint/a11y: the header row is divs beside the virtualized body table; the grid itself holds the focus */}
            <div
              className="vgrid-corner"
              role="columnheader"
              aria-colindex={1}
              style={{ width: GUTTER_WIDTH }}
            >
              #
            </div>
            {columns.map((c, col) => {
              const direction = sort[0]?.column === c.name ? sort[0].direction : null;
              return (
                // biome-ignore lint/a11y: the header row is divs beside the virtualized body table; the grid itself holds the focus
                <div
                  key={c.name}
                  className={`vgrid-th${profiledColumn === c.name ? ' profiled' : ''}`}
                  role="columnheader"
                  aria-colindex={col + 2}
                  aria-sort={
                    direction === 'asc' ? 'ascending' : direction === 'desc' ? 'descending' : undefined
                  }
                  style={{ width: widths[col] }}
                  data-sort={direction ?? 'none'}
                  title={`${c.name} (${c.type})`}
                >
                  <button
                    type="button"
                    className="vgrid-sort"
                    data-testid={`sort-${c.name}`}
                    disabled={!onSortChange}
                    onClick={() => cycleSort(c.name)}
                  >
                    <span className="grid-col-name">
                      {c.name}
                      {direction && <span className="vgrid-arrow">{direction === 'asc' ? ' ▲' : ' ▼'}</span>}
                    </span>
                    <span className="grid-col-type">{c.type}</span>
                  </button>
                  {onProfileColumn && (
                    <button
                      type="button"
                      className="vgrid-profile"
                      aria-label={`Profile ${c.name}`}
                      title={`Profile ${c.name}`}
                      data-testid={`profile-${c.name}`}
                      onClick={() => onProfileColumn(c.name)}
                    >
                      ◔
                    </button>
                  )}
                  {/* Dragged (or arrow keys) to widen or narrow the column; a double click gives back its starting width. */}
                  <button
                    type="button"
                    className="vgrid-resize"
                    aria-label={`Resize ${c.name}`}
                    title={`Drag to resize ${c.name}; double-click for its starting width`}
                    data-testid={`resize-${c.name}`}
                    onPointerDown={(e) => startResize(e, c.name, widths[col] ?? columnWidth(c))}
                    onKeyDown={(e) => {
                      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
                      e.preventDefault();
                      e.stopPropagation();
                      resizeTo(c.name, (widths[col] ?? columnWidth(c)) + (e.key === 'ArrowRight' ? 16 : -16));
                    }}
                    onDoubleClick={() => setDragged(({ [c.name]: _, ...rest }) => rest)}
                  />
                </div>
              );
            })}
          </div>
          {/* Only a slice of the rows, under a header that is not in it: a layout table whose rows and cells
              say their place in the whole grid (aria-rowindex, aria-colindex). */}
          <table className="vgrid-body" role="presentation">
            {/* biome-ignore lint/a11y/noRedundantRoles: not redundant in a presentational table */}
            <tbody role="rowgroup">{bodyRows}</tbody>
          </table>
        </div>
        {/* In the scroller, under the header: inside the grid's border, where the rows would be. */}
        {rowCount === 0 && <p className="muted grid-empty">No rows.</p>}
      </div>
      {openCell && openColumn && (
        // Outside the grid, so the grid's keys do not reach it: Escape here closes it too, and the focus goes
        // back to the grid, as Close does.
        <div
          className="cell-dialog"
          role="dialog"
          aria-label="Cell value"
          data-testid="cell-dialog"
          onKeyDown={(event) => {
            if (event.key !== 'Escape') return;
            event.preventDefault();
            setOpenCell(null);
            scroller.current?.focus();
          }}
        >
          <div className="cell-dialog-head">
            <span className="cell-dialog-title">
              <strong>{openColumn.name}</strong>
              <span className="muted">
                {openColumn.type} · row {(openCell.row + 1).toLocaleString()}
              </span>
            </span>
            <button
              type="button"
              onClick={() => {
                setOpenCell(null);
                scroller.current?.focus();
              }}
            >
              Close
            </button>
          </div>
          <pre data-testid="cell-dialog-value">
            {openValue === null || openValue === undefined
              ? 'NULL'
              : typeof openValue === 'object'
                ? JSON.stringify(openValue, null, 2)
                : formatCell(openValue, openColumn.type)}
          </pre>
        </div>
      )}
    </div>
  );
}
