import { useCallback, useEffect, useRef, useState } from 'react';
import type {
  HistoryKeys,
  HistoryVersion,
  JsonValue,
  KeyHistory,
  ProjectInfo,
} from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { formatCell } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import type { HistorySession } from '../explore-sessions.ts';
import './explore.css';

const HISTORY_KINDS = ['scd2', 'bridge', 'scd1'];
const DAY = 86_400_000;

/** A value as the table explorer's grid shows it (timestamps with milliseconds); NULL as empty. */
function cell(value: JsonValue | undefined, type = ''): string {
  return formatCell(value, type);
}

/** Each column's type by name: the version table and change log show values as the grid does. */
function typesOf(history: KeyHistory): Map<string, string> {
  return new Map(history.columns.map((c) => [c.name, c.type]));
}

function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY;
}

function isoOf(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/**
 * A business key's history in an SCD2 dimension or an effective-dated bridge: a timeline of versions,
 * the changed columns highlighted, invariant breaks flagged; for SCD1 dimensions the change log of runs.
 * The table, the key typed and the member opened outlive the view in `session`.
 */
export function HistoryView({
  client,
  project,
  session,
}: {
  client: Client;
  project: ProjectInfo;
  session: HistorySession;
}) {
  const models = project.models.filter((m) => HISTORY_KINDS.includes(m.materialized));
  const [model, setModel] = useState(
    models.find((m) => m.id === session.model)?.id ??
      models.find((m) => m.materialized === 'scd2')?.id ??
      models[0]?.id ??
      '',
  );
  const [key, setKey] = useState(session.key);
  useEffect(() => {
    session.model = model;
    session.key = key;
  }, [session, model, key]);
  // Kept with the table they are for, so chips of the previous table never show for the next.
  const [suggestions, setSuggestions] = useState<{ model: string; keys: HistoryKeys } | null>(null);
  // Why the table has no keys to suggest (not built yet): said, or the view stayed blank.
  const [keysError, setKeysError] = useState<{ model: string; message: string } | null>(null);
  const [history, setHistory] = useState<KeyHistory | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The latest search: an answer for a table or key since left shows nothing.
  const latestSearch = useRef(0);
  // session.keyTypedFor and session.keyColumnsOf: the table the key in the box was typed or picked for,
  // and each table's key columns as the engine gave them. A table keyed by other columns (user_id, then
  // proxy_isp|network_type) empties the box, where the key would mean nothing; one keyed alike (a user's
  // SCD2 dimension, bridge and SCD1 dimension) keeps it, to follow one key across them.

  useEffect(() => {
    if (!model) return;
    let live = true;
    client.call('history.keys', { model, search: '', limit: 12 }).then(
      (keys) => {
        if (!live) return;
        session.keyColumnsOf.set(model, keys.keyColumns);
        const typedFor = session.keyTypedFor;
        const typedColumns = typedFor === null ? undefined : session.keyColumnsOf.get(typedFor);
        if (typedFor !== model && typedColumns && typedColumns.join('|') !== keys.keyColumns.join('|')) {
          setKey('');
        }
        setSuggestions({ model, keys });
        setKeysError(null);
      },
      (e) => {
        if (!live) return;
        setSuggestions(null);
        setKeysError({ model, message: describeError(e) });
      },
    );
    return () => {
      live = false;
    };
  }, [client, model, session]);

  const kind = models.find((m) => m.id === model)?.materialized;
  const search = useCallback(
    async (value: string) => {
      const id = ++latestSearch.current;
      session.opened = { model, key: value };
      setBusy(true);
      setError(null);
      try {
        // The key as typed or picked: a member keyed ' b' (dirty source data) is no member 'b'. A key pasted
        // with a space or line end around it, found under neither, is looked up trimmed then.
        const found = await client.call('history.key', { model, key: value }).catch((e: unknown) => {
          const trimmed = value.trim();
          const missed = e && typeof e === 'object' && 'code' in e && e.code === 'INVALID_ARGUMENT';
          if (!missed || trimmed === value || trimmed === '') throw e;
          return client.call('history.key', { model, key: trimmed });
        });
        if (id === latestSearch.current) setHistory(found);
      } catch (e) {
        if (id !== latestSearch.current) return;
        setHistory(null);
        setError(describeError(e));
      } finally {
        if (id === latestSearch.current) setBusy(false);
      }
    },
    [client, model, session],
  );

  // The member opened before the tab was left is read again (a run meanwhile may have changed it).
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on opening the view
  useEffect(() => {
    if (session.opened?.model === model) void search(session.opened.key);
  }, []);

  const keysLoading = suggestions?.model !== model && keysError?.model !== model;

  const typeKey = (value: string) => {
    setKey(value);
    session.keyTypedFor = model;
  };

  const pick = (value: string) => {
    typeKey(value);
    void search(value);
  };

  return (
    <section className="view history-view">
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (key !== '' && !keysLoading) void search(key);
        }}
      >
        <label className="field">
          Table
          <select
            data-testid="history-model"
            value={model}
            onChange={(e) => {
              setModel(e.target.value);
              setHistory(null);
              session.opened = null;
              // The error was about the other table's key; a search still running is for it too.
              setError(null);
              setBusy(false);
              latestSearch.current++;
            }}
          >
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} ({m.materialized})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Key
          <input
            data-testid="history-key"
            value={key}
            // As the engine matches keys and the chips show them: a bridge's entity column, several
            // columns' values joined with | ("proxy_isp, network_type" read as a comma to type).
            placeholder={
              (suggestions?.model === model && suggestions.keys.keyColumns.join('|')) || 'business key'
            }
            title={suggestions?.model === model ? keyHint(suggestions.keys.keyColumns) : undefined}
            onChange={(e) => typeKey(e.target.value)}
          />
        </label>
        <button
          type="submit"
          className="primary"
          data-testid="history-search"
          // Until the table's keys are known, the box may still hold a key of the table before.
          disabled={busy || key === '' || keysLoading}
        >
          Show history
        </button>
        {suggestions?.model === model && (
          <KeyChips model={model} suggestions={suggestions.keys} kind={kind} onPick={pick} />
        )}
      </form>
      {suggestions?.model === model && <NotLogged notLogged={suggestions.keys.notLogged ?? []} />}
      {keysError?.model === model && !error && (
        <p className="notice" data-testid="history-keys-error">
          {keysError.message}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="history-error">
          {error}
        </p>
      )}
      {history && history.kind !== 'scd1' && <Timeline history={history} />}
      {history && history.breaks.length === 0 && history.kind !== 'scd1' && (
        <p className="muted" data-testid="history-ok">
          {invariantsHeld(history)}
        </p>
      )}
      {history?.breaks.map((b) => (
        <p
          key={`${b.kind}-${b.lane}-${b.message}`}
          className="error"
          data-testid="history-break"
          data-kind={b.kind}
        >
          {b.kind} in {b.lane}: {b.message}
        </p>
      ))}
      <div className="history-tables">
        {history && <VersionTable history={history} />}
        {history?.kind === 'scd1' && <ChangeLog history={history} />}
      </div>
    </section>
  );
}

/**
 * How a key is typed, as the engine matches it (businessKeyText): a NULL member is \N whether the key is
 * one column or several (a single key's NULL member was left unexplained).
 */
export function keyHint(keyColumns: string[]): string | undefined {
  if (keyColumns.length > 1) {
    return `The values of ${keyColumns.join(', ')} joined with | (NULL written \\N, a | or \\ in a value preceded by \\)`;
  }
  if (keyColumns.length === 1) {
    return `The value of ${keyColumns[0]} as text; the member keyed on NULL is written \\N (a value \\N itself takes one more \\)`;
  }
  return undefined;
}

const RULE_WORDS: Record<NonNullable<HistoryKeys['notLogged']>[number]['rule'], string> = {
  least: 'keeps the earliest value',
  greatest: 'keeps the latest value',
  keep: 'keeps the first value',
};

/** Why an SCD1 log may look empty: its running extremes and kept columns are merged but never logged. */
function NotLogged({ notLogged }: { notLogged: NonNullable<HistoryKeys['notLogged']> }) {
  if (notLogged.length === 0) return null;
  return (
    <p className="muted" data-testid="history-not-logged">
      Not in the change log:{' '}
      {notLogged.map((c, i) => (
        <span key={c.column}>
          {i > 0 && ', '}
          <code>{c.column}</code> ({c.rule}: {RULE_WORDS[c.rule]})
        </span>
      ))}
      . SCD1 logs only the columns it overwrites; a running extreme moves for nearly every key on every load,
      so logging it would say little about the member and cost a row per key per day.
    </p>
  );
}

const SINGULAR: Record<HistoryKeys['unit'], string> = { versions: 'version', changes: 'change' };

const COUNT_TITLES: Record<string, string> = {
  scd2: 'Keys with the most versions (rows)',
  bridge:
    'Keys whose set of members changed most often: one version per date a member joined, left or came back',
  scd1: 'Keys with the most column changes the runs recorded',
};

/** The keys with the most history, each with its count and what that counts. */
export function KeyChips({
  model,
  suggestions,
  kind,
  onPick,
}: {
  model: string;
  suggestions: HistoryKeys;
  kind: string | undefined;
  onPick: (key: string) => void;
}) {
  const { unit, keys } = suggestions;
  if (keys.length === 0) {
    return (
      <span className="muted" data-testid="key-chips-empty" data-model={model}>
        no key has {unit} recorded yet
      </span>
    );
  }
  const label = (count: number) => `${count.toLocaleString()} ${count === 1 ? SINGULAR[unit] : unit}`;
  // Keys come most history first: when the first has one version, none has changed, and "most versions"
  // would read as if these few keys stood out.
  const noneChanged = unit === 'versions' && (keys[0]?.count ?? 0) <= 1;
  return (
    <span
      className="key-chips"
      title={COUNT_TITLES[kind ?? ''] ?? ''}
      data-testid="key-chips"
      data-model={model}
    >
      <span className="muted" data-testid="key-chips-label">
        {noneChanged ? 'no key has changed yet (one version each), e.g.:' : `most ${unit}:`}
      </span>
      {keys.slice(0, 6).map((s) => (
        <button
          type="button"
          key={s.key}
          className="key-chip"
          data-testid="key-chip"
          data-key={s.key}
          data-count={s.count}
          onClick={() => onPick(s.key)}
        >
          {/* An empty key would show as nothing; spaces around one ( b) are part of it and kept visible. */}
          {s.key === '' ? <em>empty text</em> : <span className="key-chip-text">{s.key}</span>} (
          {label(s.count)})
        </button>
      ))}
    </span>
  );
}

/** What holds when no break was found: one current row for SCD2; per member, not per key, for a bridge. */
function invariantsHeld(history: KeyHistory): string {
  if (history.kind !== 'bridge')
    return 'No invariant breaks: one current row, no overlapping or gapped ranges.';
  const member = history.memberColumn ?? 'member';
  const effective = history.lanes.filter((lane) => lane.versions.some((v) => v.current)).length;
  return (
    `No invariant breaks: at most one effective row per ${member}, no overlapping ranges. ` +
    `The key has ${effective} effective row${effective === 1 ? '' : 's'}, one per ${member} it holds.`
  );
}

/**
 * A bar's label: the dates the version table beside it shows. SCD2's `valid_to` is exclusive there too;
 * a bridge row shows its inclusive `last_effective_date`, the day before the bar's exclusive end.
 */
function barLabel(kind: KeyHistory['kind'], version: HistoryVersion): string {
  if (version.validTo === null) return `${version.validFrom} → open`;
  const to = kind === 'bridge' ? isoOf(dayNumber(version.validTo) - 1) : version.validTo;
  return `${version.validFrom} → ${to}`;
}

export function Timeline({ history }: { history: KeyHistory }) {
  const versions = history.lanes.flatMap((l) => l.versions);
  const starts = versions.map((v) => v.validFrom).filter((d): d is string => d !== null);
  const ends = versions.map((v) => v.validTo).filter((d): d is string => d !== null);
  if (starts.length === 0) return null;
  const first = Math.min(...starts.map(dayNumber));
  // Open versions run to the day after the model's latest date (for every key alike), so they show
  // as a bar through that date.
  const last = Math.max(
    ...[...starts, ...ends].map((d) => dayNumber(d) + 1),
    history.latestDate ? dayNumber(history.latestDate) + 1 : 0,
  );
  const span = Math.max(1, last - first);
  const at = (day: number) => `${((day - first) / span) * 100}%`;
  // Month and day suffice within one year; across years 05-10 would read as a day before 06-01, so the
  // labels say the year, and fewer of them fit.
  const oneYear = isoOf(first).slice(0, 4) === isoOf(last).slice(0, 4);
  const tickLabel = (day: number) => (oneYear ? isoOf(day).slice(5) : isoOf(day));
  const maxTicks = oneYear ? 12 : 6;
  const ticks = Array.from({ length: span + 1 }, (_, i) => first + i).filter(
    (_, i, all) => all.length <= maxTicks || i % Math.ceil(all.length / maxTicks) === 0,
  );
  return (
    <div className="timeline" data-testid="history-timeline">
      <div className="timeline-axis">
        <span className="muted">
          {history.model} · {history.keyColumns.join(', ')}
        </span>
        <div className="ticks">
          {ticks.map((day) => (
            <span
              key={day}
              className="tick"
              // The first and last labels stay inside the track instead of straddling its ends.
              style={{
                left: at(day),
                transform: day === first ? 'none' : day === last ? 'translateX(-100%)' : undefined,
              }}
            >
              {tickLabel(day)}
            </span>
          ))}
        </div>
      </div>
      {history.lanes.map((lane) => (
        <div key={lane.label} className="timeline-lane" data-testid="history-lane">
          <span className="lane-label" title={lane.label}>
            {lane.label}
          </span>
          <div className="track">
            {lane.versions.map((v, i) => {
              const from = v.validFrom ? dayNumber(v.validFrom) : first;
              const to = v.validTo ? dayNumber(v.validTo) : last;
              return (
                <span
                  // Versions of one lane never share a start date unless the history is broken.
                  // biome-ignore lint/suspicious/noArrayIndexKey: the index keeps broken duplicates apart
                  key={`${v.validFrom}-${i}`}
                  className={`version-bar${v.current ? ' current' : ''}`}
                  data-testid="version-bar"
                  data-from={v.validFrom ?? ''}
                  data-to={v.validTo ?? ''}
                  style={{ left: at(from), width: `calc(${at(to)} - ${at(from)} - 2px)` }}
                  title={`${barLabel(history.kind, v)}${history.kind === 'bridge' && v.validTo ? ' (last effective day included)' : ''}${v.changed.length ? `; changed ${v.changed.join(', ')}` : ''}`}
                >
                  {barLabel(history.kind, v)}
                </span>
              );
            })}
          </div>
        </div>
      ))}
    </div>
  );
}

/** Every version as a row, cells of changed columns highlighted. */
export function VersionTable({ history }: { history: KeyHistory }) {
  const types = typesOf(history);
  const rows: { lane: string; version: HistoryVersion }[] = history.lanes.flatMap((lane) =>
    lane.versions.map((version) => ({ lane: lane.label, version })),
  );
  const columns = history.columns.map((c) => c.name);
  return (
    <div className="grid-scroll" data-testid="history-versions">
      <table className="grid">
        <HeaderRow names={columns} />
        <tbody>
          {rows.map(({ lane, version }, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: versions of one result never reorder
            <tr key={i} data-testid="version-row">
              {columns.map((c) => {
                const changed = version.changed.includes(c);
                return (
                  <td
                    key={c}
                    className={changed ? 'changed' : undefined}
                    data-changed={changed ? 'true' : undefined}
                    title={`${lane}: ${cell(version.row[c], types.get(c))}`}
                  >
                    {cell(version.row[c], types.get(c))}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The header of a plain grid: one cell a column name. */
function HeaderRow({ names }: { names: string[] }) {
  return (
    <thead>
      <tr>
        {names.map((name) => (
          <th key={name}>
            <span className="grid-col-name">{name}</span>
          </th>
        ))}
      </tr>
    </thead>
  );
}

export function ChangeLog({ history }: { history: KeyHistory }) {
  const types = typesOf(history);
  if (history.changes.length === 0) {
    return (
      <p className="muted" data-testid="history-no-changes">
        No changes recorded for this key. The change log starts with the first run after upgrading; SCD1
        overwrites in place, so earlier values are not kept.
      </p>
    );
  }
  return (
    <div className="grid-scroll" data-testid="history-changes">
      <table className="grid">
        <HeaderRow names={['run', 'etl date', 'change', 'column', 'before', 'after']} />
        <tbody>
          {history.changes.map((c, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: changes of one result never reorder
            <tr key={i} data-testid="change-row">
              <td>{c.runId}</td>
              <td>{c.etlDate}</td>
              <td>{c.kind}</td>
              <td className={c.column ? 'changed' : undefined}>{c.column ?? '(new row)'}</td>
              <td className="diff-before">{cell(c.before, types.get(c.column ?? ''))}</td>
              <td className="diff-after">{cell(c.after, types.get(c.column ?? ''))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
