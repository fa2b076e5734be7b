import { useEffect, useRef, useState } from 'react';
import type {
  ColumnFilter,
  ColumnProfile,
  FilterOp,
  SortKey,
  TableInfo,
} from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { useTableWindows } from '../api/table-windows.ts';
import { ColumnProfilePanel } from '../components/ColumnProfilePanel.tsx';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';
import { download, exportedText } from '../download.ts';
import type { TablesSession } from '../tables-session.ts';

const OPS: { op: FilterOp; label: string; needsValue: boolean }[] = [
  { op: 'contains', label: 'contains', needsValue: true },
  { op: 'eq', label: '=', needsValue: true },
  { op: 'ne', label: '≠', needsValue: true },
  { op: 'lt', label: '<', needsValue: true },
  { op: 'le', label: '≤', needsValue: true },
  { op: 'gt', label: '>', needsValue: true },
  { op: 'ge', label: '≥', needsValue: true },
  { op: 'starts_with', label: 'starts with', needsValue: true },
  { op: 'is_null', label: 'is null', needsValue: false },
  { op: 'not_null', label: 'is not null', needsValue: false },
];

function describeFilter(f: ColumnFilter): string {
  const label = OPS.find((o) => o.op === f.op)?.label ?? f.op;
  return f.value === undefined ? `${f.column} ${label}` : `${f.column} ${label} ${String(f.value)}`;
}

const NO_SORT: SortKey[] = [];
const NO_FILTERS: ColumnFilter[] = [];

/**
 * Every table of every layer in one virtualized grid: rows come in windows (Arrow) as the grid scrolls;
 * sort (header click), filters and column profiles are computed by the engine. The table, its order,
 * filters and profiled column outlive the view in `session`: leaving the tab and coming back loses none.
 */
export function TablesView({ client, session }: { client: Client; session: TablesSession }) {
  const [tables, setTables] = useState<TableInfo[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(session.selected);
  const [sort, setSort] = useState<SortKey[]>(session.sort);
  const [filters, setFilters] = useState<ColumnFilter[]>(session.filters);
  const [draft, setDraft] = useState<{ column: string; op: FilterOp; value: string }>(session.draft);
  const [profileColumn, setProfileColumn] = useState<string | null>(session.profileColumn);
  useEffect(() => {
    Object.assign(session, { selected, sort, filters, draft, profileColumn });
  }, [session, selected, sort, filters, draft, profileColumn]);
  const [profile, setProfile] = useState<ColumnProfile | null>(null);
  // From asking to the answer: the profile's own durationMs leaves out its wait behind earlier reads.
  const [profileElapsedMs, setProfileElapsedMs] = useState<number | undefined>(undefined);
  const [profileError, setProfileError] = useState<string | null>(null);
  const profileRequest = useRef(0);
  // The profile still being computed: stopped when the user moves on, as it would hold up the grid's reads.
  const profileInFlight = useRef<string | null>(null);
  const cancelProfile = () => {
    const profileId = profileInFlight.current;
    if (profileId === null) return;
    profileInFlight.current = null;
    void client.call('table.profile.cancel', { profileId }).catch(() => undefined);
  };
  // Leaving the view (another tab) leaves its profile unwanted too.
  // biome-ignore lint/correctness/useExhaustiveDependencies: on unmount only; the client does not change
  useEffect(() => () => cancelProfile(), []);
  // The panel takes room from the grid as it opens: the column it profiles is scrolled back into view,
  // where the panel would otherwise hide the column it was opened from (one at the right edge).
  useEffect(() => {
    if (!profileColumn) return;
    document
      .querySelector(`[data-testid="table-grid"] [data-testid="profile-${CSS.escape(profileColumn)}"]`)
      ?.closest('[role="columnheader"]')
      ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [profileColumn]);

  // Bumped when a run ends: the rows and counts on screen may be what it replaced.
  const [generation, setGeneration] = useState(0);
  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type === 'run.finished') setGeneration((g) => g + 1);
      }),
    [client],
  );
  const windows = useTableWindows(client, selected, sort, filters, generation);
  const info = tables?.find((t) => t.name === selected);
  const columns = windows.columns ?? info?.columns ?? [];
  const shownFilters = windows.shown?.filters ?? NO_FILTERS;

  // A refused sort or filter (its error is shown) is taken back, so the chips and the header's arrow say
  // what the rows on screen are, and the next filter is added to those.
  useEffect(() => {
    if (!windows.refused || !windows.shown) return;
    setSort(windows.shown.sort);
    setFilters(windows.shown.filters);
  }, [windows.refused, windows.shown]);

  // Bumped to read the list again (after a table is dropped; `generation` after a run).
  const [listVersion, setListVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: listVersion and generation are the triggers
  useEffect(() => {
    let live = true;
    client.call('tables.list').then(
      (list) => live && setTables(list.tables),
      (e) => live && setListError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client, listVersion, generation]);

  const open = (name: string) => {
    setSelected(name);
    setSort(NO_SORT);
    setFilters(NO_FILTERS);
    cancelProfile();
    setProfileColumn(null);
    setProfile(null);
    const first = tables?.find((t) => t.name === name)?.columns[0]?.name ?? '';
    setDraft({ column: first, op: 'contains', value: '' });
  };

  const runProfile = async (column: string, withFilters: ColumnFilter[]) => {
    if (!selected) return;
    const request = ++profileRequest.current;
    cancelProfile();
    const profileId = `profile-${Date.now().toString(36)}-${request}`;
    profileInFlight.current = profileId;
    setProfileColumn(column);
    setProfile(null);
    setProfileError(null);
    try {
      const asked = performance.now();
      const result = await client.call('table.profile', {
        table: selected,
        column,
        filters: withFilters,
        profileId,
      });
      if (profileRequest.current === request) {
        setProfileElapsedMs(Math.round(performance.now() - asked));
        setProfile(result);
      }
    } catch (e) {
      if (profileRequest.current === request) setProfileError(describeError(e));
    } finally {
      if (profileInFlight.current === profileId) profileInFlight.current = null;
    }
  };

  // The profile follows the rows on screen: it is computed again once a new set of filters is shown
  // (not when one is asked for: the engine may refuse it), and once the rows of a table restored from the
  // session are shown.
  const showing = windows.shown !== null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the filters shown are the trigger
  useEffect(() => {
    if (profileColumn && showing) void runProfile(profileColumn, shownFilters);
  }, [shownFilters, generation, showing]);

  const addFilter = () => {
    const spec = OPS.find((o) => o.op === draft.op);
    if (!draft.column || !spec || (spec.needsValue && draft.value === '')) return;
    const filter: ColumnFilter = spec.needsValue
      ? { column: draft.column, op: draft.op, value: draft.value }
      : { column: draft.column, op: draft.op };
    // The same filter twice would only add a chip: it narrows nothing further.
    if (!filters.some((f) => describeFilter(f) === describeFilter(filter))) setFilters([...filters, filter]);
    else setDraft({ ...draft, value: '' });
  };

  // The typed value is cleared once its filter is shown, not when it is asked for: a value the engine
  // refuses (its error is shown) stays in the box to be corrected.
  useEffect(() => {
    setDraft((d) =>
      d.value !== '' &&
      shownFilters.some(
        (f) => f.column === d.column && f.op === d.op && 'value' in f && String(f.value) === d.value,
      )
        ? { ...d, value: '' }
        : d,
    );
  }, [shownFilters]);

  const needsValue = OPS.find((o) => o.op === draft.op)?.needsValue ?? true;

  // The export is of what the grid shows: its table through the filters and in the order on screen (not
  // one asked for and still loading or refused), every row of it, as the console's export writes a query.
  const [exporting, setExporting] = useState<'csv' | 'parquet' | null>(null);
  const [exportStatus, setExportStatus] = useState<{ text: string; error: boolean } | null>(null);
  // The line is about the rows it exported: another table, order or filter makes it stale.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the view shown is the trigger
  useEffect(() => setExportStatus(null), [windows.shown?.key]);
  // The view shown now, for an export that ends after another table, order or filter was picked: its line
  // would be about rows no longer on screen.
  const shownKey = useRef<string | undefined>(undefined);
  shownKey.current = windows.shown?.key;
  const exportAs = async (format: 'csv' | 'parquet') => {
    const shown = windows.shown;
    if (!shown) return;
    setExporting(format);
    setExportStatus(null);
    const sameView = () => shownKey.current === shown.key;
    try {
      const file = await client.call('table.export', {
        table: shown.table,
        sort: shown.sort,
        filters: shown.filters,
        format,
      });
      download(file);
      if (sameView()) setExportStatus({ text: exportedText(file), error: false });
    } catch (e) {
      if (sameView()) setExportStatus({ text: describeError(e), error: true });
    } finally {
      setExporting(null);
    }
  };

  return (
    <section className={`view tables-view${profileColumn ? ' profiling' : ''}`}>
      <ul className="table-list" data-testid="table-list">
        {tables === null && !listError && <li className="muted">Loading…</li>}
        {tables?.length === 0 && <li className="muted">No tables yet: run the pipeline.</li>}
        {tables?.map((t) => (
          <li key={t.name}>
            <button
              type="button"
              className={`table-item${selected === t.name ? ' selected' : ''}`}
              data-testid={`table-item-${t.name}`}
              onClick={() => open(t.name)}
              title={`${t.name}: ${t.rows.toLocaleString()} rows`}
            >
              <span className={`layer-badge layer-${t.layer}`}>{t.layer}</span>
              <span className="table-name">{t.name}</span>
              {t.model === null && t.layer !== 'quarantine' && (
                <span
                  className="orphan-badge"
                  data-testid="table-orphan"
                  title="No model builds this table any more (its file was deleted or renamed): it never changes. Runs refuse while a model reads it; open it to drop it."
                >
                  no model
                </span>
              )}
              <span className="table-rows">{t.rows.toLocaleString()}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="table-preview">
        {listError && (
          <p className="error" role="alert" data-testid="tables-error">
            {listError}
          </p>
        )}
        {!selected && !listError && (
          <p className="muted">
            Pick a table: scroll all of it, sort by a header, filter, profile a column (◔).
          </p>
        )}
        {selected && (
          <>
            <div className="explorer-head">
              <h2 className="preview-title" title={selected}>
                {selected}
              </h2>
              <span className="muted explorer-count" data-testid="explorer-count">
                {windows.totalRows === null
                  ? windows.loading && 'Loading…'
                  : `${windows.totalRows.toLocaleString()} row${windows.totalRows === 1 ? '' : 's'}${
                      shownFilters.length > 0 && info ? ` of ${info.rows.toLocaleString()}` : ''
                    }`}
                {windows.firstWindowMs !== null && ` · first window ${windows.firstWindowMs} ms`}
                {windows.loading && windows.totalRows !== null && ' · loading…'}
              </span>
              <span className="explorer-export">
                {(['csv', 'parquet'] as const).map((format) => (
                  <button
                    key={format}
                    type="button"
                    data-testid={`table-export-${format}`}
                    disabled={!windows.shown || exporting !== null}
                    title="Exports every row shown: the whole table through its filters, in its order"
                    onClick={() => void exportAs(format)}
                  >
                    {exporting === format ? 'Exporting…' : `Export ${format === 'csv' ? 'CSV' : 'Parquet'}`}
                  </button>
                ))}
              </span>
            </div>
            {exportStatus && (
              <p
                className={exportStatus.error ? 'error' : 'muted export-status'}
                role={exportStatus.error ? 'alert' : 'status'}
                data-testid="table-export-status"
              >
                {exportStatus.text}
              </p>
            )}
            {info && info.model === null && info.layer !== 'quarantine' && (
              <LeftOverTable
                client={client}
                table={info.name}
                onDropped={() => {
                  setSelected(null);
                  setListVersion((v) => v + 1);
                }}
              />
            )}
            <div className="filter-bar">
              <select
                aria-label="Filter column"
                data-testid="filter-column"
                value={draft.column}
                onChange={(e) => setDraft({ ...draft, column: e.target.value })}
              >
                {columns.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </select>
              <select
                aria-label="Filter operator"
                data-testid="filter-op"
                value={draft.op}
                onChange={(e) => setDraft({ ...draft, op: e.target.value as FilterOp })}
              >
                {OPS.map((o) => (
                  <option key={o.op} value={o.op}>
                    {o.label}
                  </option>
                ))}
              </select>
              <input
                aria-label="Filter value"
                data-testid="filter-value"
                className="filter-value"
                value={draft.value}
                disabled={!needsValue}
                placeholder={needsValue ? 'value' : ''}
                onChange={(e) => setDraft({ ...draft, value: e.target.value })}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') addFilter();
                }}
              />
              <button type="button" data-testid="filter-add" onClick={addFilter}>
                Filter
              </button>
              {filters.map((f, i) => (
                <span
                  key={describeFilter(f)}
                  className="filter-chip"
                  data-testid="filter-chip"
                  title={describeFilter(f)}
                >
                  <span className="filter-chip-text">{describeFilter(f)}</span>
                  <button
                    type="button"
                    aria-label={`Remove filter ${describeFilter(f)}`}
                    onClick={() => setFilters(filters.filter((_, j) => j !== i))}
                  >
                    ×
                  </button>
                </span>
              ))}
            </div>
            {windows.error && (
              <p className="error" role="alert" data-testid="tables-error">
                {windows.error}
              </p>
            )}
            <div className="explorer-body">
              {windows.columns && (
                <DataGrid
                  // Another table gets a fresh grid: one kept across tables kept its horizontal scroll too.
                  key={selected}
                  columns={windows.columns}
                  rowCount={windows.totalRows ?? 0}
                  getRow={windows.getRow}
                  onVisibleRangeChange={windows.onVisibleRangeChange}
                  dataVersion={windows.version}
                  resetKey={windows.shown?.key}
                  sort={sort}
                  onSortChange={setSort}
                  onProfileColumn={(column) => void runProfile(column, shownFilters)}
                  profiledColumn={profileColumn}
                  testId="table-grid"
                />
              )}
              {profileColumn && (
                <ColumnProfilePanel
                  column={profileColumn}
                  profile={profile}
                  elapsedMs={profileElapsedMs}
                  loading={profile === null && profileError === null}
                  error={profileError}
                  onClose={() => {
                    profileRequest.current++;
                    cancelProfile();
                    setProfileColumn(null);
                    // The close button goes with the panel: the focus goes back to the column's profile
                    // button, where the user opened it, not to the start of the page.
                    document
                      .querySelector<HTMLElement>(
                        `[data-testid="table-grid"] [data-testid="profile-${CSS.escape(profileColumn)}"]`,
                      )
                      ?.focus();
                  }}
                />
              )}
            </div>
          </>
        )}
      </div>
    </section>
  );
}

/** A table no model builds any more: what that means, and a button that drops it (tables.drop). */
function LeftOverTable({
  client,
  table,
  onDropped,
}: {
  client: Client;
  table: string;
  onDropped: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [dropping, setDropping] = useState(false);
  const drop = async () => {
    if (!window.confirm(`Drop ${table}, with its partitions? Its rows cannot be brought back.`)) return;
    setDropping(true);
    setError(null);
    try {
      await client.call('tables.drop', { table });
      onDropped();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setDropping(false);
    }
  };
  return (
    <div className="left-over" data-testid="left-over-table">
      <span>
        No model builds {table} any more (its file was deleted or renamed): it keeps the rows it last had, and
        a run is refused while a model reads it.
      </span>
      <button type="button" data-testid="drop-table" disabled={dropping} onClick={drop}>
        {dropping ? 'Dropping…' : 'Drop table'}
      </button>
      {error && (
        <span className="error" role="alert" data-testid="drop-error">
          {error}
        </span>
      )}
    </div>
  );
}
