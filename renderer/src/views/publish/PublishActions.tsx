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
  const { busy, busyAt, error, errorAt, act, forgetError } = useAction();
  const progress = usePublishProgress(client, target, busy === PUBLISHING);
  return { busy, busyAt, error, errorAt, act, forgetError, progress };
}

/**
 * The Preflight and Publish buttons of a publish panel's toolbar, the label of the running action it
 * started and, while publishing, Cancel. Test ids are `${testIdPrefix}-preflight`, `-run`, `-busy` and
 * `-cancel`.
 */
export function PublishButtons({
  client,
  testIdPrefix,
  busy,
  busyHere,
  noTarget,
  publishBlockedReason,
  onPreflight,
  onPublish,
}: {
  client: Client;
  testIdPrefix: string;
  /** The label of any running action of the panel: the buttons wait for it. */
  busy: string | null;
  /** The label of a running action started here; one placed beside other buttons shows there. */
  busyHere: string | null;
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
      <BusyLabel label={busyHere} testId={`${testIdPrefix}-busy`} />
      {busy === PUBLISHING && <CancelPublishButton client={client} testId={`${testIdPrefix}-cancel`} />}
    </>
  );
}

/** The running action's label, beside the button that started it. */
export function BusyLabel({ label, testId }: { label: string | null; testId: string }) {
  if (label === null) return null;
  return (
    <span className="muted" data-testid={testId}>
      {label}
    </span>
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
