import { useState } from 'react';
import type { IcebergOrphans } from '../../../../engine/api/contract.ts';
import type { Client } from '../../api/client.ts';
import { ActionError } from './ActionError.tsx';
import { BusyLabel } from './PublishActions.tsx';
import type { Act } from './use-action.ts';

type Target = { warehouse: string } | { catalog: string };

/** Files older than this may go; younger ones may belong to a publish still writing (Iceberg's default). */
const MIN_AGE_HOURS = 72;

/**
 * Orphan files of the published tables: what a publish killed before its commit left under their
 * folders. Finding them deletes nothing; removing them is a second, deliberate click on what was found.
 */
export function OrphanFiles(props: {
  client: Client;
  target: Target;
  disabled: boolean;
  act: Act;
  /** The label of this part's running action and its last action's error, shown beside its buttons;
      `errorPlace` is the place it acts at. */
  busy: string | null;
  error: string | null;
  errorPlace: string;
}) {
  const { client, target, disabled, act, busy, error, errorPlace } = props;
  const [found, setFound] = useState<IcebergOrphans | null>(null);
  const removable = found?.dryRun ? found.tables.reduce((n, t) => n + t.removed.length, 0) : 0;

  const call = (dryRun: boolean) =>
    act(
      dryRun ? 'Looking for orphan files…' : 'Removing orphan files…',
      async () => {
        setFound(null);
        setFound(await client.call('iceberg.orphans', { ...target, dryRun, olderThanHours: MIN_AGE_HOURS }));
      },
      errorPlace,
    );

  return (
    <>
      <h3>Orphan files</h3>
      <div className="toolbar">
        <button type="button" data-testid="orphans-find" disabled={disabled} onClick={() => void call(true)}>
          Find orphan files
        </button>
        {removable > 0 && (
          <button
            type="button"
            data-testid="orphans-remove"
            disabled={disabled}
            onClick={() => void call(false)}
          >
            Remove {removable} orphan file{removable === 1 ? '' : 's'}
          </button>
        )}
        <BusyLabel label={busy} testId="orphans-busy" />
        <span className="muted">
          Files no snapshot references, as a publish stopped before its commit leaves; those changed in the
          last {MIN_AGE_HOURS} hours stay (another publish may be writing them).
        </span>
      </div>
      <ActionError message={error} testId="orphans-error" />
      {found && (
        <table className="publish-table" data-testid="orphans-result" data-dry-run={String(found.dryRun)}>
          <thead>
            <tr>
              <th>table</th>
              <th>{found.dryRun ? 'removable' : 'removed'}</th>
              <th>younger, kept</th>
              <th>referenced</th>
            </tr>
          </thead>
          <tbody>
            {found.tables.map((t) => (
              <tr key={t.table} data-testid={`orphans-${t.table}`}>
                <td>{t.table}</td>
                {t.skipped ? (
                  <td colSpan={3}>skipped: {t.skipped}</td>
                ) : (
                  <>
                    <td title={t.removed.map((f) => f.uri).join('\n')}>
                      {t.removed.length} ({t.removed.reduce((n, f) => n + f.size, 0).toLocaleString()} bytes)
                    </td>
                    <td title={t.kept.map((f) => f.uri).join('\n')}>{t.kept.length}</td>
                    <td>{t.referenced}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
