import type { RedshiftPublishInput } from '../../api/contract.ts';
import type { Engine } from '../../engine.ts';
import { reloadPublishTargets } from '../../project/config.ts';
import { resolveRedshiftTarget } from './connection.ts';
import { type PublishProgress, preflightRedshift, publishRedshift } from './publish.ts';

/**
 * The engine methods publish.redshift.preflight and publish.redshift.run. They read gold through the
 * writer connection, which the dispatcher hands them only between runs, so they see committed tables.
 */
export function redshiftApi(engine: Engine) {
  const options = async (input: RedshiftPublishInput) => {
    if (input.target) await reloadPublishTargets(engine.project);
    const { connection, schema } = await resolveRedshiftTarget(engine.project, {
      target: input.target,
      url: input.url,
      schema: input.schema,
      // The URL comes from the window or a token holder, not the user's shell.
      passwordFromEnvFor: 'loopback-only',
    });
    return { db: engine.db, models: engine.models, connection, schema, tables: input.tables };
  };
  return {
    async preflight(input: RedshiftPublishInput) {
      return preflightRedshift(await options(input));
    },
    async publish(
      input: RedshiftPublishInput,
      onProgress?: (event: PublishProgress) => void,
      signal?: AbortSignal,
    ) {
      return publishRedshift({ ...(await options(input)), onProgress, signal });
    },
  };
}
