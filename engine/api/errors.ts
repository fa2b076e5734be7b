/**
 * Every failure the engine reports crosses process boundaries as `{code, message, details}`.
 * Callers (CLI, UI) branch on `code`, never on the message text.
 */
export type ErrorCode =
  | 'PROJECT_NOT_FOUND'
  | 'PROJECT_INVALID'
  | 'MODEL_INVALID'
  | 'MODEL_CYCLE'
  | 'MODEL_SQL_ERROR'
  | 'SOURCE_MISSING'
  | 'SOURCE_UNREADABLE'
  | 'SOURCE_SCHEMA_MISMATCH'
  | 'STORAGE_BUCKET_MISSING'
  | 'STORAGE_ACCESS_DENIED'
  | 'STORAGE_UNAVAILABLE'
  | 'TEST_FAILED'
  | 'ACCOUNTING_MISMATCH'
  /** A target's existing tables cannot take the gold tables as they are (reported before anything runs). */
  | 'PUBLISH_CONFLICT'
  /** The target refused a statement or could not be reached; nothing was changed. */
  | 'PUBLISH_FAILED'
  /** Rows read back from the target differ from the local gold tables; the load was rolled back. */
  | 'PUBLISH_MISMATCH'
  /** An Iceberg metadata, manifest or data file breaks the spec (the message names the file and the rule). */
  | 'ICEBERG_INVALID'
  /** Every Iceberg commit attempt lost a race with another writer; nothing of ours was left behind. */
  | 'ICEBERG_COMMIT_CONFLICT'
  /** The catalog did not say whether an Iceberg commit applied; no file was deleted. */
  | 'ICEBERG_COMMIT_STATE_UNKNOWN'
  | 'RUN_CANCELLED'
  | 'RUN_LOCKED'
  | 'INVALID_ARGUMENT'
  | 'QUERY_ERROR'
  | 'QUERY_CANCELLED'
  | 'INTERNAL';

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class LakehouseError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'LakehouseError';
    this.code = code;
    this.details = details;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Wraps anything thrown into a LakehouseError, keeping the original message. */
export function toLakehouseError(error: unknown, fallback: ErrorCode = 'INTERNAL'): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LakehouseError(fallback, message);
}
