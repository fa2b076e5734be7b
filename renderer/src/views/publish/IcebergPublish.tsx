import { useState } from 'react';
import type {
  IcebergDiff,
  IcebergPreflight,
  IcebergPublishResult,
  IcebergScan,
  IcebergSnapshots,
  IcebergTablePlan,
  ProjectInfo,
} from '../../../../engine/api/contract.ts';
import { inNumber } from '../../../../engine/api/counted.ts';
import { icebergOutcome } from '../../../../engine/api/publish-outcome.ts';
import type { Client } from '../../api/client.ts';
import { DataGrid } from '../../components/DataGrid.tsx';
import { formatBytes } from '../../download.ts';
import { ActionError } from './ActionError.tsx';
import { Location } from './Location.tsx';
import { OrphanFiles } from './OrphanFiles.tsx';
import {
  BusyLabel,
  PUBLISHING,
  PublishButtons,
  PublishStatus,
  usePublishActions,
} from './PublishActions.tsx';

type TargetKind = 'warehouse' | 'catalog';

// Where the progress labels and errors of the actions further down the panel show: beside their buttons,
// not at its top, out of sight on a long page.
const ORPHANS = 'orphans';
const HISTORY = 'history';

/** What a target of each kind is and where its credentials come from: the form asks for none. */
const TARGET_HINTS: Record<TargetKind, string> = {
  warehouse:
    'A folder on this computer, or an s3:// prefix. S3 uses the standard AWS credentials (environment, ' +
    "AWS_PROFILE, SSO, instance role) and needs the bucket's region: AWS_REGION, or region in the AWS " +
    'profile. Nothing secret is typed here or written to the project.',
  catalog:
    'The name of a catalog under publish.iceberg in lakehouse.yaml (filesystem, glue or rest; ' +
    'docs/iceberg.md), read again at each preflight, so one added now needs no restart. S3 and Glue use ' +
    "the standard AWS credentials; a REST catalog's token comes from the variable its token_env names.",
};

/** What a table's publish will do, in words: "new table", "append 1,200 rows", "overwrite ...". */
function changeText(plan: IcebergTablePlan): string {
  const rows = (n: number) => `${n.toLocaleString()} row${n === 1 ? '' : 's'}`;
  switch (plan.action) {
    case 'create':
      return `new table, ${rows(plan.rowsAdded)}`;
    case 'append':
      return `append ${rows(plan.rowsAdded)}`;
    case 'upsert':
      return `upsert: write ${rows(plan.rowsAdded)}, rewrite ${plan.filesRemoved.toLocaleString()} ${inNumber(plan.filesRemoved, 'file')}`;
    case 'overwrite':
      return `overwrite: ${rows(plan.rowsRemoved)} → ${rows(plan.rowsAdded)}`;
    default:
      return 'unchanged';
  }
}

function schemaText(plan: IcebergTablePlan): string {
  const change = plan.schemaChange;
  if (!change) return '';
  return [
    ...change.added.map((c) => `+${c}`),
    ...change.widened.map((w) => `${w.column}: ${w.from}→${w.to}`),
    ...change.dropped.map((c) => `−${c}`),
  ].join(', ');
}

/**
 * Publishing the gold tables to Iceberg: the preflight (target, type mapping, what changes per table),
 * one-click publish with its progress and reconciliation, and each published table's history: its
 * snapshots, the table as of any of them (time travel) and the rows added and removed between two.
 */
export function IcebergPublish({ client, project }: { client: Client; project: ProjectInfo }) {
  const goldTables = project.models.filter((m) => m.layer === 'gold').map((m) => m.name);
  const [kind, setKind] = useState<TargetKind>('warehouse');
  const [where, setWhere] = useState(`${project.root}/iceberg-warehouse`);
  const [preflight, setPreflight] = useState<IcebergPreflight | null>(null);
  const [result, setResult] = useState<IcebergPublishResult | null>(null);
  // Counts publishes: orphan files found before one are listed afresh after it (it references new files).
  const [publishes, setPublishes] = useState(0);
  const { busy, busyAt, error, errorAt, act, forgetError, progress } = usePublishActions(client, 'iceberg');
  const [table, setTable] = useState(goldTables.find((t) => t.startsWith('fact')) ?? goldTables[0] ?? '');
  const [history, setHistory] = useState<IcebergSnapshots | null>(null);
  const [scan, setScan] = useState<IcebergScan | null>(null);
  const [diff, setDiff] = useState<IcebergDiff | null>(null);
  const [from, setFrom] = useState<string | null>(null);
  const [to, setTo] = useState<string | null>(null);

  // A diff needs two snapshots: with one, its button and the from/to choices would offer nothing.
  const comparable = history !== null && history.snapshots.length > 1;

  // Without a target there is nothing to check or publish: the buttons say so, as on the Redshift form.
  const named = where.trim();
  const target = kind === 'warehouse' ? { warehouse: named } : { catalog: named };

  // Snapshots, a time travel and a diff are of one table in one target: choosing another leaves none of
  // them on screen, where they would read as the new choice's and their buttons would ask it for them.
  const forgetHistory = () => {
    setHistory(null);
    setScan(null);
    setDiff(null);
    forgetError(HISTORY);
  };
  // The same for a preflight and an error, which are of one target: an error left on screen would read
  // as the new target's (a warehouse's missing AWS region under a catalog's name).
  const forgetTarget = () => {
    setPreflight(null);
    forgetError();
    forgetHistory();
  };

  const runPreflight = () =>
    act('Checking…', async () => {
      setResult(null);
      setPreflight(await client.call('publish.iceberg.preflight', target));
    });

  const publish = () =>
    act(PUBLISHING, async () => {
      // The last publish's outcome would read as this one's if this one fails or is cancelled.
      setResult(null);
      const published = await client
        .call('publish.iceberg.run', target)
        .finally(() => setPublishes((n) => n + 1));
      setResult(published);
      setPreflight(null);
      setHistory(null);
    });

  const loadHistory = (name = table) =>
    act(
      'Loading history…',
      async () => {
        setScan(null);
        setDiff(null);
        const snapshots = await client.call('iceberg.snapshots', { ...target, table: name });
        setHistory(snapshots);
        setTo(snapshots.snapshots[0]?.snapshotId ?? null);
        setFrom(snapshots.snapshots[1]?.snapshotId ?? null);
      },
      HISTORY,
    );

  const timeTravel = (snapshotId: string) =>
    act(
      'Reading snapshot…',
      async () => {
        setDiff(null);
        setScan(await client.call('iceberg.scan', { ...target, table, snapshotId, limit: 500 }));
      },
      HISTORY,
    );

  const compare = () =>
    act(
      'Comparing…',
      async () => {
        if (!from || !to) return;
        setScan(null);
        setDiff(await client.call('iceberg.diff', { ...target, table, from, to, limit: 50 }));
      },
      HISTORY,
    );

  return (
    <div className="publish-target-panel" data-testid="publish-iceberg">
      <div className="toolbar">
        <select
          aria-label="Target kind"
          data-testid="publish-target-kind"
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as TargetKind);
            forgetTarget();
          }}
        >
          <option value="warehouse">Warehouse folder or s3:// prefix</option>
          <option value="catalog">Catalog named in lakehouse.yaml</option>
        </select>
        <input
          aria-label="Target"
          className="publish-target-field"
          data-testid="publish-target"
          value={where}
          size={48}
          onChange={(e) => {
            setWhere(e.target.value);
            forgetTarget();
          }}
        />
        <PublishButtons
          client={client}
          testIdPrefix="publish"
          busy={busy}
          busyHere={busyAt()}
          noTarget={!named}
          onPreflight={runPreflight}
          onPublish={publish}
        />
      </div>
      <PublishStatus testIdPrefix="publish" error={error} progress={progress} />
      {!preflight && !result && (
        <p className="muted publish-hint" data-testid="publish-hint">
          {TARGET_HINTS[kind]}
        </p>
      )}

      {preflight && (
        <div data-testid="publish-preflight-result">
          <p className="muted publish-summary">
            <span>Target:</span> <Location text={preflight.target} testId="publish-preflight-target" />
            <span>, namespace {preflight.namespace}. Nothing is written until you publish.</span>
          </p>
          <table className="publish-table">
            <thead>
              <tr>
                <th>table</th>
                <th>change</th>
                <th>mode</th>
                <th>schema change</th>
                <th>columns (DuckDB → Iceberg)</th>
              </tr>
            </thead>
            <tbody>
              {preflight.tables.map((t) => (
                <tr key={t.table} data-testid={`preflight-${t.table}`}>
                  <td>{t.table}</td>
                  <td>{changeText(t)}</td>
                  <td>{t.partitionedBy ? `${t.mode} by ${t.partitionedBy}` : t.mode}</td>
                  <td>{schemaText(t)}</td>
                  <td>
                    <details>
                      <summary>{t.columns.length} columns</summary>
                      {t.columns.map((c) => (
                        <div key={c.name}>
                          {c.name}: {c.duckdbType} → {c.icebergType} (id {c.fieldId})
                        </div>
                      ))}
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {result && (
        <div data-testid="publish-result">
          <p className="publish-summary">
            <strong data-testid="publish-outcome">{icebergOutcome(result)}</strong>
            <span> ({(result.durationMs / 1000).toFixed(1)} s). Target:</span>{' '}
            <Location text={result.target} testId="publish-result-target" />
          </p>
          <table className="publish-table">
            <thead>
              <tr>
                <th>table</th>
                <th>action</th>
                <th>snapshot</th>
                <th>files</th>
                <th>rows added</th>
                <th>bytes</th>
                <th>reconciled (rows, key checksum)</th>
              </tr>
            </thead>
            <tbody>
              {result.tables.map((t) => (
                <tr key={t.table} data-testid={`result-${t.table}`}>
                  <td>
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => {
                        setTable(t.table);
                        void loadHistory(t.table);
                      }}
                    >
                      {t.table}
                    </button>
                  </td>
                  <td>{t.action}</td>
                  <td>{t.snapshotId ?? '—'}</td>
                  <td>{t.filesAdded}</td>
                  <td>{t.rowsAdded.toLocaleString()}</td>
                  <td>{formatBytes(t.bytesAdded)}</td>
                  <td>
                    {t.reconciliation.matches ? '✓' : '✗'} {t.reconciliation.publishedRows.toLocaleString()} /{' '}
                    {t.reconciliation.localRows.toLocaleString()}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {/* Keyed by the target (what was found in one must not be removed from another) and the publishes. */}
      <OrphanFiles
        key={`${kind}:${named}:${publishes}`}
        client={client}
        target={target}
        disabled={busy !== null || !named}
        act={act}
        busy={busyAt(ORPHANS)}
        error={errorAt(ORPHANS)}
        errorPlace={ORPHANS}
      />

      <h3>History</h3>
      <div className="toolbar">
        <select
          aria-label="Published table"
          data-testid="history-table"
          value={table}
          onChange={(e) => {
            setTable(e.target.value);
            forgetHistory();
          }}
        >
          {goldTables.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <button
          type="button"
          data-testid="history-load"
          disabled={busy !== null || !named}
          onClick={() => void loadHistory()}
        >
          Snapshots
        </button>
        {comparable && (
          <button
            type="button"
            data-testid="history-diff"
            disabled={busy !== null || !named || !from || !to}
            onClick={compare}
          >
            Diff from → to
          </button>
        )}
        <BusyLabel label={busyAt(HISTORY)} testId="history-busy" />
      </div>
      <ActionError message={errorAt(HISTORY)} testId="history-error" />
      {history && (
        <table className="publish-table" data-testid="history-snapshots">
          <thead>
            <tr>
              {comparable && (
                <>
                  <th>from</th>
                  <th>to</th>
                </>
              )}
              <th>time</th>
              <th>operation</th>
              <th>rows added</th>
              <th>rows removed</th>
              <th>total rows</th>
              <th>snapshot</th>
            </tr>
          </thead>
          <tbody>
            {history.snapshots.map((s) => (
              <tr key={s.snapshotId} data-testid="history-snapshot">
                {comparable && (
                  <>
                    <td>
                      <input
                        type="radio"
                        name="diff-from"
                        aria-label={`Diff from ${s.snapshotId}`}
                        checked={from === s.snapshotId}
                        onChange={() => setFrom(s.snapshotId)}
                      />
                    </td>
                    <td>
                      <input
                        type="radio"
                        name="diff-to"
                        aria-label={`Diff to ${s.snapshotId}`}
                        checked={to === s.snapshotId}
                        onChange={() => setTo(s.snapshotId)}
                      />
                    </td>
                  </>
                )}
                <td>{isoTime(s.timestampMs)}</td>
                <td>
                  {s.operation}
                  {s.action && s.action !== s.operation ? ` (${s.action})` : ''}
                </td>
                <td>{s.rowsAdded.toLocaleString()}</td>
                <td>{s.rowsRemoved.toLocaleString()}</td>
                <td>{s.totalRows.toLocaleString()}</td>
                <td>
                  <button
                    type="button"
                    className="link-button"
                    data-testid="history-scan"
                    title="Show the table as of this snapshot"
                    onClick={() => void timeTravel(s.snapshotId)}
                  >
                    {s.snapshotId}
                  </button>
                  {s.snapshotId === history.currentSnapshotId ? ' (current)' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {scan && (
        <div data-testid="history-scan-result">
          <p className="muted">
            {table} as of snapshot {scan.snapshotId}: {scan.totalRows.toLocaleString()} rows
            {scan.hasMore ? ` (first ${scan.rows.length.toLocaleString()} shown)` : ''}
          </p>
          <DataGrid
            columns={scan.columns}
            rows={scan.rows}
            resetKey={scan.snapshotId}
            testId="history-grid"
          />
        </div>
      )}
      {diff && (
        <div data-testid="history-diff-result">
          <p>
            {diff.rowsAdded.toLocaleString()} {inNumber(diff.rowsAdded, 'row')} added,{' '}
            {diff.rowsRemoved.toLocaleString()} removed between {diff.from} and {diff.to}.
          </p>
          {diff.added.length > 0 && (
            <>
              <h4>Added (examples)</h4>
              <DataGrid
                columns={diff.columns}
                rows={diff.added}
                resetKey={`a${diff.to}`}
                testId="diff-added"
              />
            </>
          )}
          {diff.removed.length > 0 && (
            <>
              <h4>Removed (examples)</h4>
              <DataGrid
                columns={diff.columns}
                rows={diff.removed}
                resetKey={`r${diff.from}`}
                testId="diff-removed"
              />
            </>
          )}
        </div>
      )}
    </div>
  );
}

/** ISO like the rest of the app (run ids, dates), in UTC so it reads the same on every machine. */
function isoTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
