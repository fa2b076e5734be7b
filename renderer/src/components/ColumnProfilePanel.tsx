import type { ReactNode } from 'react';
import type { ColumnProfile } from '../../../engine/api/contract.ts';
import { formatCell } from './DataGrid.tsx';

type Overflow = 'below' | 'above' | undefined;

/** What an overflow bin holds, before its range: the outliers the engine kept out of the other bins. */
const OVERFLOW_TEXT = { below: 'Below the range', above: 'Above the range' } as const;

/** A histogram bin in full (the row's title): its one value, or its range. */
function binText(low: string, high: string, overflow?: Overflow): string {
  const range = low === high ? low : `${low} – ${high}`;
  return overflow ? `${OVERFLOW_TEXT[overflow]}: ${range}` : range;
}

/**
 * A histogram bin on screen: its one value, or its ends, a date both share said once. A range too long
 * for one line breaks between its ends, never inside a timestamp.
 */
function binLabel(low: string, high: string, overflow?: Overflow): ReactNode {
  const sharedDate = /^\d{4}-\d{2}-\d{2} /.exec(low)?.[0];
  const shownHigh = sharedDate && high.startsWith(sharedDate) ? high.slice(sharedDate.length) : high;
  const range =
    low === high ? (
      low
    ) : (
      <>
        <span className="profile-bin-end">{low}</span> – <span className="profile-bin-end">{shownHigh}</span>
      </>
    );
  if (!overflow) return range;
  return (
    <>
      <span className="profile-bin-overflow">{OVERFLOW_TEXT[overflow]}</span> {range}
    </>
  );
}

/** An empty string as a value: said, where it showed as nothing (a bar with no label, a blank Min). */
const EMPTY_TEXT = '(empty string)';

function EmptyText() {
  return (
    <span className="muted" data-testid="empty-string">
      <em>{EMPTY_TEXT}</em>
    </span>
  );
}

/**
 * How long a profile took as the user saw it: the engine computes it on the connection that also reads the
 * grid's windows, one read at a time, so it may have waited behind them (or a profile asked for before).
 */
function profileTime(computedMs: number, elapsedMs?: number): string {
  const ms = (n: number) => `${n.toLocaleString()} ms`;
  if (elapsedMs === undefined || elapsedMs < computedMs) return `computed in ${ms(computedMs)}`;
  const waitedMs = elapsedMs - computedMs;
  // A round trip's few milliseconds are not worth a second figure.
  if (waitedMs < Math.max(200, elapsedMs / 5)) return `took ${ms(elapsedMs)}`;
  return `took ${ms(elapsedMs)}: ${ms(computedMs)} computing, ${ms(waitedMs)} waiting for the table's earlier reads`;
}

/** One column's profile: type, null share, distinct count, min/max, then a histogram or the top values. */
export function ColumnProfilePanel({
  profile,
  loading,
  error,
  column,
  onClose,
  elapsedMs,
}: {
  profile: ColumnProfile | null;
  /** How long the user waited for it, when known: more than its durationMs when it queued behind other reads. */
  elapsedMs?: number;
  loading: boolean;
  error: string | null;
  column: string;
  onClose: () => void;
}) {
  const bars =
    profile?.histogram?.map((b) => ({
      label: binLabel(b.low, b.high, b.overflow),
      fullLabel: binText(b.low, b.high, b.overflow),
      overflow: b.overflow,
      count: b.count,
    })) ??
    profile?.topValues?.map((t) => ({
      label: t.value === '' ? <EmptyText /> : (t.value ?? 'NULL'),
      fullLabel: t.value === '' ? EMPTY_TEXT : (t.value ?? 'NULL'),
      overflow: undefined,
      count: t.count,
    })) ??
    [];
  const peak = Math.max(1, ...bars.map((b) => b.count));
  // As the grid shows them: DuckDB's text of a timestamp drops the trailing zeros the grid's cells keep.
  const min = profile?.min == null ? null : formatCell(profile.min, profile.type);
  const max = profile?.max == null ? null : formatCell(profile.max, profile.type);
  return (
    <aside
      className="profile-panel"
      data-testid="profile-panel"
      aria-label={`Profile of ${column}`}
      // Escape closes it from anywhere inside, as it closes the grid's cell dialog.
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        event.preventDefault();
        onClose();
      }}
    >
      <div className="profile-head">
        <strong className="profile-title" title={column}>
          {column}
        </strong>
        <button type="button" onClick={onClose} aria-label="Close the profile" data-testid="profile-close">
          ×
        </button>
      </div>
      {loading && <p className="muted">Profiling…</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {profile && !loading && (
        <>
          <dl className="profile-stats">
            <dt>Type</dt>
            <dd data-testid="profile-type">{profile.type}</dd>
            <dt>Rows</dt>
            <dd>{profile.rows.toLocaleString()}</dd>
            <dt>Nulls</dt>
            <dd data-testid="profile-nulls">
              {profile.nulls.toLocaleString()} ({profile.nullPercent.toFixed(1)}%)
            </dd>
            <dt>Distinct</dt>
            <dd
              data-testid="profile-distinct"
              title={
                profile.distinctApprox ? 'An estimate (HyperLogLog): about 1.6% standard error' : undefined
              }
            >
              {profile.distinctApprox ? '≈ ' : ''}
              {profile.distinct.toLocaleString()}
            </dd>
            <dt>Min</dt>
            <dd title={min === '' ? EMPTY_TEXT : (min ?? '')} data-testid="profile-min">
              {min === '' ? <EmptyText /> : (min ?? '—')}
            </dd>
            <dt>Max</dt>
            <dd title={max === '' ? EMPTY_TEXT : (max ?? '')} data-testid="profile-max">
              {max === '' ? <EmptyText /> : (max ?? '—')}
            </dd>
          </dl>
          {bars.length === 0 ? (
            // A heading over nothing reads as a chart that failed to load.
            <p className="muted" data-testid="profile-no-values">
              {profile.rows === 0 ? 'No rows to chart.' : 'No values to chart.'}
            </p>
          ) : (
            <h3 className="profile-subtitle">{profile.histogram ? 'Histogram' : 'Top values'}</h3>
          )}
          <ul
            className="profile-bars"
            data-testid="profile-bars"
            aria-label={profile.histogram ? 'Histogram' : 'Top values'}
          >
            {bars.map((b, i) => (
              // Bars of one profile never reorder.
              <li
                // biome-ignore lint/suspicious/noArrayIndexKey: histogram bins may share a label
                key={i}
                className={b.overflow ? 'profile-bar overflow' : 'profile-bar'}
                data-overflow={b.overflow}
                title={`${b.fullLabel}: ${b.count.toLocaleString()}`}
                // A label cut to two lines is whole on focus (styles.css), so the keyboard reaches every
                // value the mouse reads in the title, and a screen reader hears the value and its count.
                // biome-ignore lint/a11y/noNoninteractiveTabindex: focus is how a keyboard reads a cut value
                tabIndex={0}
                aria-label={`${b.fullLabel}: ${b.count.toLocaleString()}`}
              >
                <span className="profile-bar-label">{b.label}</span>
                <span className="profile-bar-track">
                  <span className="profile-bar-fill" style={{ width: `${(100 * b.count) / peak}%` }} />
                </span>
                <span className="profile-bar-count">{b.count.toLocaleString()}</span>
              </li>
            ))}
          </ul>
          <p className="muted profile-time" data-testid="profile-time">
            {profileTime(profile.durationMs, elapsedMs)}
          </p>
        </>
      )}
    </aside>
  );
}
