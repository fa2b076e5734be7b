import { useState } from 'react';
import type {
  MethodInput,
  RedshiftPreflight,
  RedshiftPublishResult,
  RedshiftTablePlan,
} from '../../../../engine/api/contract.ts';
import { redshiftOutcome } from '../../../../engine/api/publish-outcome.ts';
import type { Client } from '../../api/client.ts';
import { dateCount } from '../../run-summary.ts';
import { Clipped } from './Clipped.tsx';
import { Location } from './Location.tsx';
import { PUBLISHING, PublishButtons, PublishStatus, usePublishActions } from './PublishActions.tsx';

type TargetKind = 'target' | 'url';

/** What a target of each kind is and where its password comes from: the form asks for none. */
const TARGET_HINTS: Record<TargetKind, string> = {
  url:
    'A PostgreSQL-protocol database on this computer (localhost): its password is read from PGPASSWORD ' +
    'or ~/.pgpass where the app runs, never typed here. For Amazon Redshift or another server, add a ' +
    'target under publish.redshift in lakehouse.yaml (docs/redshift.md) and choose "Target named in ' +
    'lakehouse.yaml".',
  target:
    'The name of a target under publish.redshift in lakehouse.yaml (docs/redshift.md), read again at each ' +
    'preflight, so one added now needs no restart. Its password comes from the environment variable its ' +
    'password_env names, or from AWS credentials with iam: true.',
};

/** What each load action does to the target table, for the preflight's tooltip. */
const ACTION_HELP: Record<RedshiftTablePlan['action'], string> = {
  create: 'new table: created, then loaded',
  swap: 'overwrite: loaded into a new table swapped in, in the same transaction',
  merge: 'SCD1 upsert: loaded into a staging table, then merged by key',
  append: 'facts: the dates not yet published are appended (no duplicates on re-publish)',
  mirror: 'history (SCD2, bridge): mirrored so earlier versions are kept',
};

function distributionText(plan: RedshiftTablePlan): string {
  const { style, distKey, sortKey } = plan.distribution;
  const dist = style === 'KEY' && distKey ? `KEY(${distKey})` : style;
  return sortKey.length > 0 ? `${dist}, sort ${sortKey.join(', ')}` : dist;
}

function columnChangeText(plan: RedshiftTablePlan): string {
  return [
    ...plan.addedColumns.map((c) => `+${c}`),
    ...plan.widenedColumns.map((w) => `${w.column}: ${w.from}→${w.to}`),
  ].join(', ');
}

/** The plan of every table: what the load does, rows to send, layout, and columns it adds or widens. */
function TablePlans({ tables }: { tables: RedshiftTablePlan[] }) {
  return (
    <table className="publish-table">
      <thead>
        <tr>
          <th>table</th>
          <th>materialized</th>
          <th>load</th>
          <th>rows</th>
          <th>rows to send</th>
          <th>distribution</th>
          <th>column changes</th>
        </tr>
      </thead>
      <tbody>
        {tables.map((t) => (
          <tr key={t.table} data-testid={`redshift-preflight-${t.table}`}>
            <td>{t.table}</td>
            <td>{t.materialized}</td>
            <td title={ACTION_HELP[t.action]}>
              {t.action}
              {t.sentDates && t.sentDates.length > 0 ? ` (${dateCount(t.sentDates.length)})` : ''}
            </td>
            <td className="num">{t.rows.toLocaleString()}</td>
            <td className="num">{t.rowsToSend.toLocaleString()}</td>
            <td>
              <Clipped text={distributionText(t)} />
            </td>
            <td>
              <Clipped text={columnChangeText(t)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Numbered SQL statements, each whole (they are what the user approves), in a scrolling box. */
function Statements({ sql, testId }: { sql: string[]; testId: string }) {
  return (
    <ol className="publish-sql" data-testid={testId}>
      {sql.map((statement, i) => (
        // Statements may repeat (one ALTER per table), so the position is part of the key.
        // biome-ignore lint/suspicious/noArrayIndexKey: the list is fixed for one preflight.
        <li key={i}>
          <pre>{statement}</pre>
        </li>
      ))}
    </ol>
  );
}

/**
 * Publishing the gold tables to Amazon Redshift or any PostgreSQL-protocol database: a target named
 * under publish.redshift in lakehouse.yaml, or a postgres:// URL on this computer (the password stays in
 * PGPASSWORD on the engine's side, which sends it to no other host). Preflight shows the DDL and the rows per table; publish runs in one transaction
 * with progress, then shows each table's reconciliation against the local gold table.
 */
export function RedshiftPublish({ client }: { client: Client }) {
  const [kind, setKind] = useState<TargetKind>('url');
  const [target, setTarget] = useState('');
  const [url, setUrl] = useState('');
  const [schema, setSchema] = useState('');
  const [preflight, setPreflight] = useState<RedshiftPreflight | null>(null);
  const [result, setResult] = useState<RedshiftPublishResult | null>(null);
  const { busy, error, act, forgetError, progress } = usePublishActions(client, 'redshift');

  const where = kind === 'target' ? target.trim() : url.trim();
  const input: MethodInput<'publish.redshift.run'> = {
    ...(kind === 'target' ? { target: where } : { url: where }),
    ...(schema.trim() ? { schema: schema.trim() } : {}),
  };
  // A preflight with conflicts means the publish would refuse; say so before the click, not after.
  const blocked = preflight !== null && preflight.conflicts.length > 0;
  // A preflight is of one target and schema: on another it would read as theirs and block their publish.
  // So is an error: a URL's refused connection would read as a named target's.
  const retarget =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setPreflight(null);
      forgetError();
    };

  const runPreflight = () =>
    act('Checking…', async () => {
      setResult(null);
      setPreflight(await client.call('publish.redshift.preflight', input));
    });

  const publish = () =>
    act(PUBLISHING, async () => {
      // The last publish's outcome would read as this one's if this one fails or is cancelled.
      setResult(null);
      setResult(await client.call('publish.redshift.run', input));
      setPreflight(null);
    });

  const reconciled = result?.reconciliation.filter((r) => r.matches).length ?? 0;

  return (
    <div className="publish-target-panel" data-testid="publish-redshift">
      <div className="toolbar">
        <select
          aria-label="Redshift target kind"
          data-testid="redshift-target-kind"
          value={kind}
          onChange={(e) => retarget(setKind)(e.target.value as TargetKind)}
        >
          <option value="url">postgres:// URL</option>
          <option value="target">Target named in lakehouse.yaml</option>
        </select>
        {kind === 'url' ? (
          <input
            aria-label="Connection URL"
            className="publish-target-field"
            data-testid="redshift-url"
            placeholder="postgres://user@localhost:5432/database"
            title="A database on this computer (localhost, 127.0.0.1, ::1); the password is read from PGPASSWORD where the engine runs, never put it here. For another server, name a target in lakehouse.yaml."
            value={url}
            size={44}
            onChange={(e) => retarget(setUrl)(e.target.value)}
          />
        ) : (
          <input
            aria-label="Target name"
            className="publish-target-field"
            data-testid="redshift-target"
            placeholder="name under publish.redshift"
            value={target}
            size={28}
            onChange={(e) => retarget(setTarget)(e.target.value)}
          />
        )}
        <input
          aria-label="Schema"
          data-testid="redshift-schema"
          placeholder="schema (default gold)"
          value={schema}
          size={18}
          onChange={(e) => retarget(setSchema)(e.target.value)}
        />
        <PublishButtons
          client={client}
          testIdPrefix="redshift"
          busy={busy}
          busyHere={busy}
          noTarget={!where}
          publishBlockedReason={blocked ? 'Resolve the conflicts the preflight found first.' : undefined}
          onPreflight={runPreflight}
          onPublish={publish}
        />
      </div>
      <PublishStatus testIdPrefix="redshift" error={error} progress={progress} />
      {!preflight && !result && (
        <p className="muted publish-hint" data-testid="redshift-hint">
          {TARGET_HINTS[kind]}
        </p>
      )}

      {preflight && (
        <div data-testid="redshift-preflight-result">
          <p className="muted publish-summary">
            <span>Target</span> <Location text={preflight.target} testId="redshift-preflight-target" />
            <span>
              , schema {preflight.schema} ({preflight.dialect}, load by{' '}
              {preflight.loadPath === 'copy-stdin' ? 'COPY FROM STDIN' : 'Parquet on S3 and COPY'}). Nothing
              is written until you publish.
            </span>
          </p>
          {preflight.conflicts.length > 0 && (
            <div className="error" role="alert" data-testid="redshift-conflicts">
              <strong>Conflicts: publishing is refused until these are resolved.</strong>
              <ul>
                {preflight.conflicts.map((c) => (
                  <li key={`${c.table}.${c.column ?? ''}:${c.message}`}>
                    {c.table}
                    {c.column ? `.${c.column}` : ''}: {c.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {preflight.warnings.length > 0 && (
            <ul className="publish-warnings" data-testid="redshift-warnings">
              {preflight.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          <TablePlans tables={preflight.tables} />
          {blocked ? (
            // A refused plan has no statements: "none to run" would read as every table being ready.
            <p className="muted" data-testid="redshift-ddl">
              No DDL or load is planned while there are conflicts: resolve them, then run the preflight again.
            </p>
          ) : (
            <>
              <h3>DDL to run ({preflight.ddl.length})</h3>
              {preflight.ddl.length > 0 ? (
                <Statements sql={preflight.ddl} testId="redshift-ddl" />
              ) : (
                <p className="muted" data-testid="redshift-ddl">
                  None: every table exists with its columns.
                </p>
              )}
              <details>
                <summary>All {preflight.statements.length} statements of the load, in order</summary>
                <Statements sql={preflight.statements} testId="redshift-statements" />
              </details>
            </>
          )}
        </div>
      )}

      {result && (
        <div data-testid="redshift-result">
          <p className="publish-summary">
            <strong data-testid="redshift-outcome">{redshiftOutcome(result)}</strong>
            <span> ({(result.durationMs / 1000).toFixed(1)} s). Target:</span>{' '}
            <Location text={`${result.target}, schema ${result.schema}`} testId="redshift-result-target" />
            <span>
              ; {reconciled} of {result.reconciliation.length} reconciled.
            </span>
          </p>
          <table className="publish-table">
            <thead>
              <tr>
                <th>table</th>
                <th>operation</th>
                <th>rows</th>
                <th>rows sent</th>
                <th>reconciled (target / local rows)</th>
                <th>key checksum (target / local)</th>
              </tr>
            </thead>
            <tbody>
              {result.tables.map((t) => {
                const check = result.reconciliation.find((r) => r.table === t.table);
                return (
                  <tr key={t.table} data-testid={`redshift-result-${t.table}`}>
                    <td>{t.table}</td>
                    <td title={ACTION_HELP[t.action]}>{t.action}</td>
                    <td className="num">{t.rows.toLocaleString()}</td>
                    <td className="num">{t.rowsToSend.toLocaleString()}</td>
                    <td className={check?.matches ? 'publish-ok' : 'publish-bad'}>
                      {check
                        ? `${check.matches ? '✓' : '✗'} ${check.targetRows.toLocaleString()} / ${check.localRows.toLocaleString()}`
                        : 'not reconciled'}
                    </td>
                    <td>{check && <Clipped text={`${check.targetChecksum} / ${check.localChecksum}`} />}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
