import { useEffect, useState } from 'react';
import type { PublishProgressEvent } from '../../../../engine/api/contract.ts';
import type { Client } from '../../api/client.ts';

/**
 * The latest publish.progress event of one target while `active`; null otherwise. Subscribed for the
 * component's life, not per publish: events may arrive before the reply of the call that caused them.
 */
export function usePublishProgress(
  client: Client,
  target: PublishProgressEvent['target'],
  active: boolean,
): PublishProgressEvent | null {
  const [progress, setProgress] = useState<PublishProgressEvent | null>(null);
  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type === 'publish.progress' && event.target === target) setProgress(event);
      }),
    [client, target],
  );
  // Events can arrive after the reply that ends a publish: clear on every start and end (during render,
  // React's way to reset state on a prop change), so no step of the last publish shows in the next.
  const [wasActive, setWasActive] = useState(active);
  if (active !== wasActive) {
    setWasActive(active);
    setProgress(null);
  }
  return active ? progress : null;
}

/** Where a publish is: its step in words, the table it is on, and a bar of steps done of total. */
export function PublishProgressBar({ progress }: { progress: PublishProgressEvent }) {
  const { message, table, done, total } = progress;
  const percent = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  // Iceberg's messages name their table already; Redshift's are phases ("Loading") that need it added.
  const label = table && !message.includes(table) ? `${message}: ${table}` : message;
  return (
    <div className="publish-progress" data-testid="publish-progress" data-target={progress.target}>
      <div className="publish-progress-text">
        <span className="publish-ellipsis" title={label} data-testid="publish-progress-message">
          {label}
        </span>
        <span className="muted" data-testid="publish-progress-count">
          {done.toLocaleString()} / {total.toLocaleString()}
        </span>
      </div>
      <div
        className="publish-progress-track"
        role="progressbar"
        aria-label="Publish progress"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
      >
        <div className="publish-progress-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

/**
 * Stops the publish in progress (publish.cancel): the table being written is left as it was, and the
 * tables committed before it stay. Shown only while publishing, so it starts fresh for each publish.
 */
export function CancelPublishButton({ client, testId }: { client: Client; testId: string }) {
  const [asked, setAsked] = useState(false);
  const cancel = () => {
    setAsked(true);
    void client.call('publish.cancel', {}).catch(() => setAsked(false));
  };
  return (
    <button type="button" data-testid={testId} disabled={asked} onClick={cancel}>
      {asked ? 'Cancelling…' : 'Cancel'}
    </button>
  );
}
