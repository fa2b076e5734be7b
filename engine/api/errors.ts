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
  | 'TEST_FAILED'
  | 'ACCOUNTING_MISMATCH'
  | 'RUN_CANCELLED'
  | 'RUN_LOCKED'
  | 'INVALID_ARGUMENT'
  | 'QUERY_ERROR'
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
