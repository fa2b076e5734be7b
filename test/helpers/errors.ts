import { LakehouseError } from '../../engine/api/errors.ts';
import { createEngine } from '../../engine/engine.ts';

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

/** The LakehouseError opening the project at `dir` fails with, or undefined when it opens (closed again). */
export function openFailure(dir: string): Promise<LakehouseError | undefined> {
  return createEngine({ projectDir: dir }).then(
    (engine) => {
      engine.close();
      return undefined;
    },
    (e: LakehouseError) => e,
  );
}
