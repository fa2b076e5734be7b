import type { PublishProgressEvent } from '../../../../engine/api/contract.ts';
import type { Client } from '../../api/client.ts';
import { CancelPublishButton, PublishProgressBar, usePublishProgress } from './PublishProgress.tsx';
import { useAction } from './use-action.ts';

/** The busy label of a publish: the cancel button and the progress bar show only while it is on. */
export const PUBLISHING = 'Publishing…';

/**
 * One action at a time (useAction) plus the progress of this panel's publish while one runs: both
 * publish panels need the pair, and the progress is tied to the PUBLISHING label.
 */
export function usePublishActions(client: Client, target: PublishProgressEvent['target']) {
  const { busy, error, errorAt, act, forgetError } = useAction();
  const progress = usePublishProgress(client, target, busy === PUBLISHING);
  return { busy, error, errorAt, act, forgetError, progress };
}

/**
 * The Preflight and Publish buttons of a publish panel's toolbar, the running action's label and, while
 * publishing, Cancel. Test ids are `${testIdPrefix}-preflight`, `-run`, `-busy` and `-cancel`.
 */
export function PublishButtons({
  client,
  testIdPrefix,
  busy,
  noTarget,
  publishBlockedReason,
  onPreflight,
  onPublish,
}: {
  client: Client;
  testIdPrefix: string;
  busy: string | null;
  /** No target is named yet: neither check nor publish has anything to act on. */
  noTarget: boolean;
  /** Why publishing is refused before the click (shown as the button's tooltip); undefined if it is not. */
  publishBlockedReason?: string | undefined;
  onPreflight: () => void;
  onPublish: () => void;
}) {
  return (
    <>
      <button
        type="button"
        data-testid={`${testIdPrefix}-preflight`}
        disabled={busy !== null || noTarget}
        onClick={onPreflight}
      >
        Preflight
      </button>
      <button
        type="button"
        className="primary"
        data-testid={`${testIdPrefix}-run`}
        disabled={busy !== null || noTarget || publishBlockedReason !== undefined}
        title={publishBlockedReason}
        onClick={onPublish}
      >
        Publish
      </button>
      {busy && (
        <span className="muted" data-testid={`${testIdPrefix}-busy`}>
          {busy}
        </span>
      )}
      {busy === PUBLISHING && <CancelPublishButton client={client} testId={`${testIdPrefix}-cancel`} />}
    </>
  );
}

/** Below a publish panel's toolbar: the last action's error (`${testIdPrefix}-error`) and the progress. */
export function PublishStatus({
  testIdPrefix,
  error,
  progress,
}: {
  testIdPrefix: string;
  error: string | null;
  progress: PublishProgressEvent | null;
}) {
  return (
    <>
      {error && (
        <p className="error" role="alert" data-testid={`${testIdPrefix}-error`}>
          {error}
        </p>
      )}
      {progress && <PublishProgressBar progress={progress} />}
    </>
  );
}
