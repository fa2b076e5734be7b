import { randomUUID } from 'node:crypto';
import type {
  ColumnFilter,
  ColumnProfile,
  QueryExport,
  QueryExportInput,
  SortKey,
  TableExportInput,
  TableProfileInput,
  TableWindow,
  TableWindowInput,
} from '../api/contract.ts';
import { LakehouseError, toLakehouseError } from '../api/errors.ts';
import { type Db, ident } from '../db/duckdb.ts';
import { resultToArrow, wireSelectList } from './arrow.ts';
import { checkFilterValues, orderClause, whereClause } from './conditions.ts';
import { exportQuery } from './export.ts';
import { profileColumn } from './profile.ts';
import { type Relation, resolveRelation } from './relation.ts';

/** Windows that start below this offset are read with a plain ORDER BY/LIMIT (DuckDB's top-N is fast there). */
const INDEX_FROM_OFFSET = 1000;
/** Position indexes kept at once. */
const MAX_INDEXES = 3;
/**
 * Up to this many rows a position index is a sorted copy of the rows (windows are range scans, a few
 * ms); above, only row ids in order (built several times faster, but a window whose rows lie all over
 * the table costs a scan of it). Measured on 10M rows: copy ~17-45 s to build, row ids ~1-6 s.
 */
const COPY_MAX_ROWS = 1_000_000;
/**
 * Over a row-id index, windows are served from chunks: consecutive positions copied out of the table
 * with one scan, so scrolling within a chunk costs a range read and only a jump to a new chunk a scan.
 */
const CHUNK_ROWS = 20_000;
const MAX_CHUNKS = 8;
/** The position column of a sorted copy; a name no table column is expected to take. */
const POSITION = '__lakehouse_position';
/** A snapshot's row number, for tables whose own column named rowid hides DuckDB's. */
const ROW = '__lakehouse_row';

/** A table ready to page: its columns and the table windows read from (the view's snapshot for views). */
interface Source {
  relation: Relation;
  /** Quoted name of what windows read; always a table, so it has a row key. */
  from: string;
  /** The (quoted) column that keys its rows: `rowid`, or ROW in a snapshot when a column hides rowid. */
  rowKey: string;
  rows: number;
  /** The temp table holding a view's snapshot, dropped when the explorer is invalidated. */
  snapshot: string | null;
  /** The row key runs 0..rows-1 with no gaps: unfiltered, unsorted windows are row key ranges. */
  dense: boolean;
  /** The explorer's generation when it was opened: older ones read data a run has since replaced. */
  generation: number;
}

/**
 * A failure reading a table to page it, as QUERY_ERROR naming the table: DuckDB's own error reached the
 * app as INTERNAL. A layer view over a lake file deleted or moved since the project opened says what to do.
 */
function sourceError(table: string, error: unknown): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const fileGone = /^IO Error: No files found that match the pattern/.test(message)
    ? '. A file of its lake was deleted or moved outside the engine: put it back, or open the project again, ' +
      'which names the missing files and how to repair them.'
    : '';
  return new LakehouseError('QUERY_ERROR', `Reading ${table}: ${message}${fileGone}`, { table });
}

/**
 * A temp table numbering the rows that pass the filters in the sort order: either a copy of those rows in
 * their wire form (`copy`), or their row ids (`rowids`). Random access by rowid is slow in DuckDB (a
 * sorted window's rows may lie all over the table), so smaller results get a copy where they are contiguous.
 */
interface PositionIndex {
  name: string;
  rows: number;
  kind: 'copy' | 'rowids';
  /** For `rowids`: chunk number → temp table of that chunk's rows (position and wire columns). */
  chunks: Map<number, string>;
  /** Its source's generation. */
  generation: number;
}

export interface Explorer {
  /** A window of a table as Arrow, sorted and filtered by the engine. */
  window(input: TableWindowInput): Promise<TableWindow>;
  /** One column's profile over the rows that pass the filters. */
  profile(input: TableProfileInput): Promise<ColumnProfile>;
  /** Writes a query's whole result as CSV or Parquet. */
  exportQuery(input: QueryExportInput): Promise<QueryExport>;
  /** Writes the rows a table's grid shows (its filters, its order), every one of them, as CSV or Parquet. */
  exportTable(input: TableExportInput): Promise<QueryExport>;
  /** Forgets everything cached (call when a run has committed: tables changed). */
  invalidate(): void;
}

/**
 * The table explorer over one reader connection; the caller runs its calls one at a time. Unsorted,
 * unfiltered windows are rowid ranges; windows near the top of a sorted or filtered view use DuckDB's
 * top-N; scrolling deeper builds, once per order, a position index (a sorted copy, or row ids read in
 * chunks). Views (Parquet) are first snapshot into a temp table so they page the same way.
 */
export function createExplorer(
  db: Db,
  options: {
    copyMaxRows?: number;
    chunkRows?: number;
    exactDistinctMaxRows?: number;
    /** The largest export download (query.export), 512 MB unless a test sets it lower. */
    maxDownloadBytes?: number;
  } = {},
): Explorer {
  const copyMaxRows = options.copyMaxRows ?? COPY_MAX_ROWS;
  const chunkRows = options.chunkRows ?? CHUNK_ROWS;
  let generation = 0;
  let tempSeq = 0;
  const sources = new Map<string, Source>();
  const counts = new Map<string, number>();
  const indexes = new Map<string, PositionIndex>();
  const stale: string[] = [];
  let canCreateTemp = true;

  // Unique per explorer too: two explorers may share a connection (and its temp schema).
  const instance = randomUUID().slice(0, 8);
  const tempName = (kind: string) => `__lakehouse_${kind}_${instance}_${generation}_${++tempSeq}`;

  const dropStale = async () => {
    while (stale.length > 0) {
      const name = stale.pop() as string;
      await db.run(`DROP TABLE IF EXISTS temp.main.${ident(name)}`).catch(() => undefined);
    }
  };

  const openSource = async (name: string): Promise<Source> => {
    await dropStale();
    const cached = sources.get(name);
    if (cached) return cached;
    try {
      return await readSource(name);
    } catch (error) {
      throw sourceError(name, error);
    }
  };

  const readSource = async (name: string): Promise<Source> => {
    const started = generation;
    const relation = await resolveRelation(db, name);
    let from = relation.sql;
    let rowKey = 'rowid';
    let snapshot: string | null = null;
    // A column named rowid (any case) hides DuckDB's: windows keyed on it repeat and skip rows. Such a
    // table is read through a snapshot numbering its rows (in scan order) under a reserved name.
    const hidesRowid = relation.columns.some((c) => c.name.toLowerCase() === 'rowid');
    if (relation.kind === 'view' || hidesRowid) {
      if (!canCreateTemp) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          relation.kind === 'view'
            ? `${relation.name} is a view and this warehouse is open read-only: the explorer cannot page it. Open the project writable (lakehouse serve).`
            : `${relation.name} has a column named rowid and this warehouse is open read-only: the explorer cannot page it. Open the project writable (lakehouse serve).`,
          { table: relation.name },
        );
      }
      snapshot = tempName('snapshot');
      if (hidesRowid) rowKey = ident(ROW);
      const numbered = hidesRowid ? `, row_number() OVER () - 1 AS ${rowKey}` : '';
      await db.run(`CREATE TEMP TABLE ${ident(snapshot)} AS SELECT *${numbered} FROM ${relation.sql}`);
      from = `temp.main.${ident(snapshot)}`;
    }
    const [stats] = await db.all<{ rows: number; dense: boolean }>(
      `SELECT count(*) AS rows, coalesce(max(${rowKey}) + 1 = count(*), true) AS dense FROM ${from}`,
    );
    const source: Source = {
      relation,
      from,
      rowKey,
      snapshot,
      rows: Number(stats?.rows ?? 0),
      dense: stats?.dense === true,
      generation: started,
    };
    // A run committed (and invalidated the explorer) while this was read: it serves the call that
    // asked, but is not kept, or the grid would show the old data until the next run.
    if (started !== generation) {
      if (snapshot) stale.push(snapshot);
      return source;
    }
    sources.set(name, source);
    return source;
  };

  const filteredCount = async (source: Source, filters: ColumnFilter[]): Promise<number> => {
    if (filters.length === 0) return source.rows;
    const key = `${source.relation.name}\n${JSON.stringify(filters)}`;
    const known = counts.get(key);
    if (known !== undefined) return known;
    const n = Number(
      (await db.scalar(`SELECT count(*) FROM ${source.from} ${whereClause(source.relation, filters)}`)) ?? 0,
    );
    if (source.generation === generation) counts.set(key, n);
    return n;
  };

  const positionIndex = async (
    source: Source,
    sort: SortKey[],
    filters: ColumnFilter[],
  ): Promise<PositionIndex | null> => {
    const key = `${source.relation.name}\n${JSON.stringify(sort)}\n${JSON.stringify(filters)}`;
    const known = indexes.get(key);
    if (known) {
      // Most recently used last, so eviction drops the oldest.
      indexes.delete(key);
      indexes.set(key, known);
      return known;
    }
    if (!canCreateTemp) return null;
    const name = tempName('positions');
    const kind = (await filteredCount(source, filters)) <= copyMaxRows ? 'copy' : 'rowids';
    const payload =
      kind === 'copy' ? wireSelectList(source.relation.columns, 't') : `t.${source.rowKey} AS rid`;
    try {
      await db.run(
        `CREATE TEMP TABLE ${ident(name)} AS
           SELECT (row_number() OVER (${orderClause(source.relation, sort, 't', source.rowKey)})) - 1 AS ${ident(POSITION)}, ${payload}
           FROM ${source.from} AS t ${whereClause(source.relation, filters, 't')}`,
      );
    } catch (error) {
      if (/read-only|read only/i.test((error as Error).message)) {
        canCreateTemp = false;
        return null;
      }
      throw error;
    }
    const rows = Number((await db.scalar(`SELECT count(*) FROM ${ident(name)}`)) ?? 0);
    const index: PositionIndex = { name, rows, kind, chunks: new Map(), generation: source.generation };
    // Built from data older than the last invalidate (see openSource): used once, then dropped.
    if (source.generation !== generation) {
      stale.push(name);
      return index;
    }
    indexes.set(key, index);
    while (indexes.size > MAX_INDEXES) {
      const [oldestKey, oldest] = indexes.entries().next().value as [string, PositionIndex];
      indexes.delete(oldestKey);
      stale.push(oldest.name, ...oldest.chunks.values());
    }
    return index;
  };

  // Chunks of every index, least recently used first.
  const chunkOrder: { index: PositionIndex; chunk: number }[] = [];

  /** The chunk tables holding positions [from, to) of a row-id index, copied out of the table as needed. */
  const chunkTables = async (source: Source, index: PositionIndex, from: number, to: number) => {
    const names: string[] = [];
    for (let chunk = Math.floor(from / chunkRows); chunk <= Math.floor((to - 1) / chunkRows); chunk++) {
      let name = index.chunks.get(chunk);
      if (!name) {
        name = tempName('chunk');
        const position = ident(POSITION);
        await db.run(
          `CREATE TEMP TABLE ${ident(name)} AS
             SELECT i.${position}, ${wireSelectList(source.relation.columns, 't')}
             FROM (SELECT ${position}, rid FROM ${ident(index.name)}
                   WHERE ${position} >= ${chunk * chunkRows} AND ${position} < ${(chunk + 1) * chunkRows}) AS i
             JOIN ${source.from} AS t ON t.${source.rowKey} = i.rid`,
        );
        if (index.generation !== generation) {
          // The index was dropped by an invalidate (or never kept): the chunk serves this window only.
          stale.push(name);
          names.push(name);
          continue;
        }
        index.chunks.set(chunk, name);
      }
      const at = chunkOrder.findIndex((c) => c.index === index && c.chunk === chunk);
      if (at >= 0) chunkOrder.splice(at, 1);
      chunkOrder.push({ index, chunk });
      names.push(name);
    }
    while (chunkOrder.length > MAX_CHUNKS) {
      const oldest = chunkOrder.shift() as { index: PositionIndex; chunk: number };
      const name = oldest.index.chunks.get(oldest.chunk);
      oldest.index.chunks.delete(oldest.chunk);
      if (name && !names.includes(name)) stale.push(name);
    }
    return names;
  };

  return {
    async window(input) {
      const source = await openSource(input.table);
      const { relation } = source;
      await checkFilterValues(db, relation, input.filters);
      const where = whereClause(relation, input.filters, 'u');
      const { rowKey } = source;
      const order = orderClause(relation, input.sort, 'u', rowKey);
      const select = wireSelectList(relation.columns, 't');
      const end = input.offset + input.limit;
      let sql: string;
      let totalRows: number;
      if (input.sort.length === 0 && input.filters.length === 0 && source.dense) {
        totalRows = source.rows;
        sql = `SELECT ${select} FROM ${source.from} AS t WHERE ${rowKey} >= ${input.offset} AND ${rowKey} < ${end} ORDER BY ${rowKey}`;
      } else {
        const index =
          input.offset < INDEX_FROM_OFFSET ? null : await positionIndex(source, input.sort, input.filters);
        if (index) {
          totalRows = index.rows;
          const inWindow = `${ident(POSITION)} >= ${input.offset} AND ${ident(POSITION)} < ${end}`;
          const names = relation.columns.map((c) => ident(c.name)).join(', ');
          const tables =
            index.kind === 'copy'
              ? [index.name]
              : await chunkTables(
                  source,
                  index,
                  input.offset,
                  Math.max(input.offset + 1, Math.min(end, index.rows)),
                );
          const parts = tables.map(
            (t) => `SELECT ${ident(POSITION)}, ${names} FROM ${ident(t)} WHERE ${inWindow}`,
          );
          sql = `SELECT ${names} FROM (${parts.join(' UNION ALL ')}) ORDER BY ${ident(POSITION)}`;
        } else {
          // Near the top: DuckDB's top-N over row ids only, then the few rows it picked, cast to their
          // wire form (casting first would convert every row of the table).
          totalRows = await filteredCount(source, input.filters);
          const picked = `SELECT u.${rowKey} FROM ${source.from} AS u ${where} ${order} LIMIT ${input.limit} OFFSET ${input.offset}`;
          sql = `SELECT ${select} FROM ${source.from} AS t WHERE t.${rowKey} IN (${picked}) ${orderClause(relation, input.sort, 't', rowKey)}`;
        }
      }
      let arrow: Uint8Array;
      let rowCount: number;
      try {
        const result = await db.connection.runAndReadAll(sql);
        rowCount = result.currentRowCount;
        arrow = resultToArrow(relation.columns, result);
      } catch (error) {
        const failure = toLakehouseError(error, 'QUERY_ERROR');
        throw new LakehouseError(failure.code, `Reading ${relation.name}: ${failure.message}`, {
          table: relation.name,
        });
      }
      return {
        table: relation.name,
        columns: relation.columns,
        totalRows,
        offset: input.offset,
        rowCount,
        arrow,
      };
    },

    async profile(input) {
      const source = await openSource(input.table);
      await checkFilterValues(db, source.relation, input.filters);
      return profileColumn(
        db,
        source.relation,
        source.from,
        input.column,
        input.filters,
        source.rows,
        options.exactDistinctMaxRows,
      );
    },

    exportQuery: (input) => exportQuery(db, input, options.maxDownloadBytes),
    async exportTable(input) {
      // Read as the grid reads it (the same snapshot of a view, its WHERE and its order, ties by row), so
      // the file holds every row the grid would show, in the grid's order.
      const source = await openSource(input.table);
      const { relation } = source;
      await checkFilterValues(db, relation, input.filters);
      const columns = relation.columns.map((c) => `t.${ident(c.name)}`).join(', ');
      const sql = `SELECT ${columns} FROM ${source.from} AS t ${whereClause(relation, input.filters, 't')}
        ${orderClause(relation, input.sort, 't', source.rowKey)}`;
      // Named after the table (gold.dim_user-20220601-083000.csv), not "query".
      return exportQuery(db, { sql, format: input.format }, options.maxDownloadBytes, relation.name);
    },

    invalidate() {
      generation++;
      for (const source of sources.values()) if (source.snapshot) stale.push(source.snapshot);
      for (const index of indexes.values()) stale.push(index.name, ...index.chunks.values());
      chunkOrder.length = 0;
      sources.clear();
      counts.clear();
      indexes.clear();
    },
  };
}
