import type {
  HistoryKeys,
  HistoryLane,
  HistoryVersion,
  InvariantBreak,
  JsonRow,
  KeyHistory,
  Scd1Change,
} from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { ident, literal } from '../db/duckdb.ts';
import type { Engine } from '../engine.ts';
import { recordedShape } from '../materializations/builds.ts';
import { columnTypesOf } from '../materializations/context.ts';
import { holdsTimestamptz } from '../materializations/history.ts';
import { businessKeyText, type KeyTypes, SCD1_CHANGES_TABLE } from '../materializations/scd1-changes.ts';
import { type Model, relationshipTargetId } from '../project/models.ts';
import { runClockOrder } from '../warehouse/metadata.ts';
import { relationExists, relationOf } from './star-schema.ts';

type HistoryKind = KeyHistory['kind'];

/** Columns the engine adds to SCD2 rows; they are the validity, not the member's attributes. */
const SCD2_META = ['valid_from', 'valid_to', 'is_current', 'row_hash'];

function historyModel(engine: Engine, id: string): { model: Model; kind: HistoryKind; keys: string[] } {
  const model = engine.models.find((m) => m.id === id);
  const kinds = ['scd2', 'bridge', 'scd1'];
  if (!model || !kinds.includes(model.config.materialized)) {
    const choices = engine.models.filter((m) => kinds.includes(m.config.materialized)).map((m) => m.id);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${id} is not a history model (scd2, bridge or scd1). Pick one of: ${choices.join(', ')}.`,
      { model: id, models: choices },
    );
  }
  const kind = model.config.materialized as HistoryKind;
  const keys = kind === 'bridge' ? [model.config.bridge!.entity] : (model.config.unique_key ?? []);
  return { model, kind, keys };
}

/**
 * A history table's business key as one string, as the UI shows and searches them and the SCD1 change
 * log stores them (businessKeyText: composite keys joined with `|`, NULL written \N, TIMESTAMPTZ in UTC).
 */
function keyExpression(keys: string[], types: KeyTypes): string {
  return businessKeyText(keys, '', types);
}

/**
 * Where a row's key (keyExpression) is `key`. A single key compares its column's text, so the filter
 * reaches the table scan (2 ms against 171 ms through concat_ws on 10M rows); \N is its NULL.
 */
function keyFilter(keys: string[], key: string, types: KeyTypes): string {
  const type = types.get(keys[0]!.toLowerCase());
  const timestamptz = type === 'TIMESTAMP WITH TIME ZONE';
  if (keys.length !== 1 || (!timestamptz && holdsTimestamptz(type))) {
    return `${keyExpression(keys, types)} = ${literal(key)}`;
  }
  const column = ident(keys[0]!);
  if (key === '\\N') return `${column} IS NULL`;
  // Its UTC text read back as the instant it names, in any session zone.
  if (timestamptz) return `${column} = TRY_CAST(${literal(key)} AS TIMESTAMPTZ)`;
  // A key written \N (\\N, ...) is shown with one more \.
  const value = /^\\\\+N$/.test(key) ? key.slice(1) : key;
  return `${column}::VARCHAR = ${literal(value)}`;
}

async function changeLogExists(engine: Engine): Promise<boolean> {
  const found = await engine.reader.scalar<number | bigint>(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()
       AND schema_name = '_lakehouse' AND table_name = 'scd1_changes'`,
  );
  return Number(found ?? 0) > 0;
}

/**
 * The unique_key order an SCD1 model's change log holds its keys in: the one its table was built with,
 * which differs from the header's just after the header reordered it. The model's next run rewrites the
 * log to the header's order (rekeyScd1Changes); until then the view finds the entries through the table.
 */
async function loggedKeyOrder(engine: Engine, model: Model, keys: string[]): Promise<string[]> {
  const logged = (await recordedShape(engine.reader, model.id))?.keys;
  const now = keys.map((k) => k.toLowerCase());
  const reordered =
    logged !== undefined &&
    logged.length === now.length &&
    logged.join('\u0000') !== now.join('\u0000') &&
    [...logged].sort().join('\u0000') === [...now].sort().join('\u0000');
  return reordered ? logged : keys;
}

async function requireBuilt(engine: Engine, model: Model): Promise<void> {
  if (!(await relationExists(engine.reader, model))) {
    throw new LakehouseError('INVALID_ARGUMENT', `${model.id} is not built yet; run the pipeline first.`, {
      model: model.id,
    });
  }
}

/** Keys of a history model with the most history first, counted as HistoryKeys says, for the picker. */
export async function historyKeys(
  engine: Engine,
  input: { model: string; search: string; limit: number },
): Promise<HistoryKeys> {
  const { model, kind, keys } = historyModel(engine, input.model);
  await requireBuilt(engine, model);
  const types = await columnTypesOf(engine.reader, relationOf(model));
  const { search } = input;
  // The text as typed, any case: ILIKE read `_` and `%` as wildcards, so `_` listed every key.
  const ranked = (sql: string, params: Record<string, string>) =>
    engine.reader.all<{ key: string; count: number }>(
      `SELECT key, count FROM (${sql}) WHERE contains(lower(key), lower($search)) AND count > 0
       ORDER BY count DESC, key LIMIT ${input.limit}`,
      { ...params, search },
    );
  if (kind === 'scd1') {
    // The log leaves these out by design (see scd1.ts); the view says so rather than looking empty.
    const notLogged = Object.entries(model.config.merge).flatMap(([column, rule]) =>
      rule === 'overwrite' ? [] : [{ column, rule }],
    );
    if (!(await changeLogExists(engine))) return { keyColumns: keys, unit: 'changes', keys: [], notLogged };
    const logged = await loggedKeyOrder(engine, model, keys);
    // Logged in another order: each entry listed by the key the table gives its member now.
    const shown =
      logged === keys
        ? SCD1_CHANGES_TABLE
        : `(SELECT c.model, m.key, c.kind FROM ${SCD1_CHANGES_TABLE} AS c JOIN (SELECT DISTINCT
             ${businessKeyText(logged, '', types)} AS logged_key, ${keyExpression(keys, types)} AS key FROM ${relationOf(model)}) AS m
           ON c.key = m.logged_key)`;
    const changes = await ranked(
      `SELECT key, count(*) FILTER (WHERE kind = 'update')::DOUBLE AS count FROM ${shown}
       WHERE model = $model GROUP BY key`,
      { model: model.id },
    );
    return { keyColumns: keys, unit: 'changes', keys: changes, notLogged };
  }
  // Counted by the key's columns, each key's text made once (keyExpression).
  const columns = keys.map(ident).join(', ');
  const relation = relationOf(model);
  if (kind === 'scd2') {
    const versions = await ranked(
      `SELECT ${keyExpression(keys, types)} AS key, count FROM (
         SELECT ${columns}, count(*)::DOUBLE AS count FROM ${relation} GROUP BY ALL)`,
      {},
    );
    return { keyColumns: keys, unit: 'versions', keys: versions };
  }
  // A bridge row is one member's period; the key's set of members changes where a period starts or ends.
  const setVersions = await ranked(
    `SELECT ${keyExpression(keys, types)} AS key, count FROM (
       SELECT ${columns}, count(DISTINCT changed_on)::DOUBLE AS count FROM (
         SELECT ${columns}, first_effective_date AS changed_on FROM ${relation}
         UNION ALL
         SELECT ${columns}, last_effective_date + 1 FROM ${relation} WHERE last_effective_date IS NOT NULL
       ) GROUP BY ALL)`,
    {},
  );
  return { keyColumns: keys, unit: 'versions', keys: setVersions };
}

/**
 * One business key's history: for SCD2 its versions with the columns each one changed; for a bridge one
 * lane per member with its effective ranges; for SCD1 the change log the runs recorded. Invariant breaks
 * (overlapping or gapped ranges, several current rows, open/closed flags that disagree) are listed.
 */
export async function keyHistory(engine: Engine, input: { model: string; key: string }): Promise<KeyHistory> {
  const { model, kind, keys } = historyModel(engine, input.model);
  await requireBuilt(engine, model);
  const relation = relationOf(model);
  const types = await columnTypesOf(engine.reader, relation);
  const result = await engine.query(`SELECT * FROM ${relation} WHERE ${keyFilter(keys, input.key, types)}`);
  const rows = result.rows as JsonRow[];
  const memberColumn = kind === 'bridge' ? model.config.bridge!.member : null;
  const latest = await engine.query(
    `SELECT strftime(max(etl_date), '%Y-%m-%d') AS d FROM _lakehouse.model_dates WHERE model = ${literal(model.id)}`,
  );
  const latestDate = (latest.rows[0]?.d as string | null | undefined) ?? null;
  const base = { model: model.id, kind, keyColumns: keys, memberColumn, columns: result.columns, latestDate };
  if (rows.length === 0) {
    // A key of several columns is typed as the list shows it, its values joined with |: "vnpt, wifi" is no
    // key of (proxy_isp, network_type), and the message shows one that is.
    const example =
      keys.length > 1
        ? await engine.reader.scalar<string>(
            `SELECT min(${keyExpression(keys, types)}) FROM ${relation}
             WHERE ${keys.map((k) => `${ident(k)} IS NOT NULL`).join(' AND ')}`,
          )
        : null;
    // A NULL part is typed \N (as the list shows it): a user typing nothing for it got no hint of that.
    const joined = example
      ? ` A key of several columns is their values joined with | (a NULL value written \\N, a | or \\ inside a value preceded by \\), e.g. ${example}.`
      : '';
    // The picker lists only members with history (SCD1: a logged change): it may show none at all.
    const listed = (await historyKeys(engine, { model: model.id, search: '', limit: 1 })).keys.length > 0;
    const pick = listed
      ? 'or pick one from the list'
      : `or copy one from ${model.id} in Tables (members without ${kind === 'scd1' ? 'a recorded change' : 'history'} are not listed here)`;
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${model.id} has no rows for ${keys.join('|')} = ${input.key}.${joined} Check the key (leading zeros count), ${pick}.`,
      { model: model.id, key: input.key },
    );
  }
  if (kind === 'scd1') {
    // SCD1 keeps one row per key: the current row, and the change log of how it got there.
    const current = rows.map((row) => ({ validFrom: null, validTo: null, current: true, row, changed: [] }));
    return {
      ...base,
      lanes: [{ label: input.key, versions: current }],
      breaks: [],
      changes: await scd1Changes(engine, model, await loggedKey(engine, model, keys, input.key, types)),
    };
  }
  if (kind === 'scd2') return { ...base, ...scd2Lanes(model, rows), changes: [] };
  return { ...base, ...(await bridgeLanes(engine, model, rows)), changes: [] };
}

function dateOf(value: unknown): string | null {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null;
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function scd2Lanes(model: Model, rows: JsonRow[]): { lanes: HistoryLane[]; breaks: InvariantBreak[] } {
  const attributes = Object.keys(rows[0] ?? {}).filter(
    (c) => !SCD2_META.includes(c) && c !== model.config.surrogate_key,
  );
  const sorted = [...rows].sort((a, b) => String(a.valid_from).localeCompare(String(b.valid_from)));
  const label = (model.config.unique_key ?? []).map((k) => String(sorted[0]?.[k])).join('|');
  const versions: HistoryVersion[] = sorted.map((row, i) => {
    const previous = sorted[i - 1];
    return {
      validFrom: dateOf(row.valid_from),
      validTo: dateOf(row.valid_to),
      current: row.is_current === true,
      row,
      changed: previous ? attributes.filter((c) => !same(previous[c], row[c])) : [],
    };
  });
  return { lanes: [{ label, versions }], breaks: rangeBreaks(label, versions, true) };
}

/** Breaks in one lane's ranges; a bridge member may leave and come back, so its gaps are no break. */
function rangeBreaks(lane: string, versions: HistoryVersion[], gapsBreak: boolean): InvariantBreak[] {
  const breaks: InvariantBreak[] = [];
  const current = versions.filter((v) => v.current);
  if (current.length > 1) {
    breaks.push({
      kind: 'several-current',
      lane,
      message: `${current.length} current rows (from ${current.map((v) => v.validFrom).join(', ')}); there must be at most one.`,
    });
  }
  for (const v of versions) {
    if (v.current === (v.validTo !== null)) {
      breaks.push({
        kind: 'open-but-closed',
        lane,
        message: `The row from ${v.validFrom} is ${v.current ? 'current but has an end date' : 'not current but has no end date'}.`,
      });
    }
  }
  for (let i = 1; i < versions.length; i++) {
    const a = versions[i - 1]!;
    const b = versions[i]!;
    if (!b.validFrom) continue;
    if (a.validTo === null || b.validFrom < a.validTo) {
      breaks.push({
        kind: 'overlap',
        lane,
        message: `The row from ${a.validFrom} (to ${a.validTo ?? 'open'}) overlaps the one from ${b.validFrom}.`,
      });
    } else if (gapsBreak && b.validFrom > a.validTo) {
      breaks.push({
        kind: 'gap',
        lane,
        message: `Nothing is valid from ${a.validTo} until ${b.validFrom}.`,
      });
    }
  }
  return breaks;
}

async function bridgeLanes(
  engine: Engine,
  model: Model,
  rows: JsonRow[],
): Promise<{ lanes: HistoryLane[]; breaks: InvariantBreak[] }> {
  const { member } = model.config.bridge!;
  const labels = await memberLabels(engine, model, member, [...new Set(rows.map((r) => r[member]))]);
  const byMember = new Map<string, JsonRow[]>();
  for (const row of rows) {
    const key = JSON.stringify(row[member] ?? null);
    byMember.set(key, [...(byMember.get(key) ?? []), row]);
  }
  const lanes: HistoryLane[] = [];
  const breaks: InvariantBreak[] = [];
  for (const [key, memberRows] of byMember) {
    const sorted = memberRows.sort((a, b) =>
      String(a.first_effective_date).localeCompare(String(b.first_effective_date)),
    );
    const label = labels.get(key) ?? String(JSON.parse(key));
    const versions: HistoryVersion[] = sorted.map((row) => {
      const last = dateOf(row.last_effective_date);
      return {
        validFrom: dateOf(row.first_effective_date),
        validTo: last === null ? null : nextDay(last),
        current: Number(row.is_effective) === 1,
        row,
        changed: [],
      };
    });
    lanes.push({ label, versions });
    breaks.push(...rangeBreaks(label, versions, false));
  }
  lanes.sort((a, b) => String(a.versions[0]?.validFrom).localeCompare(String(b.versions[0]?.validFrom)));
  return { lanes, breaks };
}

/** Readable names of bridge members from the dimension their relationships test points at. */
async function memberLabels(
  engine: Engine,
  model: Model,
  member: string,
  values: unknown[],
): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  const test = model.config.tests.find((t) => 'relationships' in t && t.relationships.column === member);
  const dim =
    test && 'relationships' in test
      ? engine.models.find((m) => m.id.toLowerCase() === relationshipTargetId(test.relationships.to))
      : undefined;
  if (!dim || !test || !('relationships' in test) || values.length === 0) return labels;
  const field = test.relationships.field;
  const list = values
    .filter((v) => typeof v === 'number' || typeof v === 'string')
    .map((v) => JSON.stringify(v));
  if (list.length === 0) return labels;
  const dimRows = await engine.query(
    `SELECT * FROM ${relationOf(dim)} WHERE ${ident(field)}::VARCHAR IN (${list.map((v) => literal(String(JSON.parse(v)))).join(', ')})`,
  );
  for (const row of dimRows.rows) {
    const names = Object.entries(row)
      .filter(([c, v]) => c !== field && typeof v === 'string')
      .map(([, v]) => String(v));
    labels.set(JSON.stringify(row[field] ?? null), `${String(row[field])} · ${names.join(' · ')}`);
  }
  return labels;
}

/** The text the change log holds a member's key under (see loggedKeyOrder), given the key the view shows. */
async function loggedKey(
  engine: Engine,
  model: Model,
  keys: string[],
  key: string,
  types: KeyTypes,
): Promise<string> {
  const logged = await loggedKeyOrder(engine, model, keys);
  if (logged === keys) return key;
  const text = await engine.reader.scalar<string>(
    `SELECT ${businessKeyText(logged, '', types)} FROM ${relationOf(model)} WHERE ${keyFilter(keys, key, types)} LIMIT 1`,
  );
  return text ?? key;
}

async function scd1Changes(engine: Engine, model: Model, key: string): Promise<Scd1Change[]> {
  if (!(await changeLogExists(engine))) return [];
  const rows = await engine.reader.allJson<{
    run_id: string;
    etl_date: string;
    kind: 'insert' | 'update';
    column_name: string | null;
    before: string | null;
    after: string | null;
  }>(
    `SELECT run_id, strftime(etl_date, '%Y-%m-%d') AS etl_date, kind, column_name, before, after
     FROM ${SCD1_CHANGES_TABLE} AS c WHERE model = $model AND key = $key
     ORDER BY ${runClockOrder('c', 'recorded_at')}, etl_date, column_name`,
    { model: model.id, key },
  );
  return rows.map((r) => ({
    runId: r.run_id,
    etlDate: r.etl_date,
    kind: r.kind,
    column: r.column_name,
    before: loggedValue(r.before),
    after: loggedValue(r.after),
  }));
}

/**
 * A change log value as JSON gives it. Entries logged before NaN, infinities and integers past 2^53 were
 * logged as strings hold them bare (`NaN`), which JSON.parse refuses: their text is shown instead, rather
 * than the whole history failing to open.
 */
function loggedValue(text: string | null): Scd1Change['before'] {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Scd1Change['before'];
  } catch {
    return text;
  }
}
