import { useState } from 'react';
import type { ProjectInfo } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { IcebergPublish } from './publish/IcebergPublish.tsx';
import { RedshiftPublish } from './publish/RedshiftPublish.tsx';
import './publish.css';

type PublishTarget = 'iceberg' | 'redshift';

const TARGETS: { id: PublishTarget; label: string }[] = [
  { id: 'iceberg', label: 'Apache Iceberg' },
  { id: 'redshift', label: 'Redshift / PostgreSQL' },
];

/**
 * Publishing the gold tables, to Apache Iceberg or to Redshift / PostgreSQL. Both panels stay mounted
 * (the other one hidden), so switching target mid-publish keeps its progress, preflight and result.
 */
export function PublishView({
  client,
  project,
  hidden = false,
}: {
  client: Client;
  project: ProjectInfo;
  /** Another tab is shown: the view keeps its publish, target and outcome for when it comes back. */
  hidden?: boolean;
}) {
  const [target, setTarget] = useState<PublishTarget>('iceberg');
  return (
    <section className="view publish-view" data-testid="publish-view" hidden={hidden}>
      <div className="publish-header">
        <h2>Publish gold tables</h2>
        <div className="publish-switch">
          {TARGETS.map(({ id, label }) => (
            <button
              key={id}
              type="button"
              aria-pressed={target === id}
              data-testid={`publish-to-${id}`}
              className={target === id ? 'selected' : undefined}
              onClick={() => setTarget(id)}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      <div hidden={target !== 'iceberg'}>
        <IcebergPublish client={client} project={project} />
      </div>
      <div hidden={target !== 'redshift'}>
        <RedshiftPublish client={client} />
      </div>
    </section>
  );
}
