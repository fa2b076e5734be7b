import { LakehouseError } from '../../engine/api/errors.ts';

/** The LakehouseError `promise` rejects with; anything else (or no rejection) fails the test. */
export async function lakehouseFailure(promise: Promise<unknown>): Promise<LakehouseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LakehouseError) return error;
    throw error;
  }
  throw new Error('expected a LakehouseError, but the call succeeded');
}
