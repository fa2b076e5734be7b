import { describe, expect, it } from 'vitest';
import { LakehouseError } from '../../../engine/api/errors.ts';
import type { Project } from '../../../engine/project/config.ts';
import { redshiftTarget } from '../../../engine/publish/redshift/config.ts';
import { isLoopbackHost, resolveRedshiftTarget } from '../../../engine/publish/redshift/connection.ts';

// publish.redshift entries of lakehouse.yaml: validated by the publisher's own schema, secrets never
// read from the project file.

const staging = { s3: 's3://bucket/stage/', iam_role: 'arn:aws:iam::123456789012:role/copy' };

function project(redshift: Record<string, unknown>): Project {
  // Only the publish block matters to the publisher; the rest of a project is not read here.
  return { root: '/p', config: { publish: { redshift, iceberg: {} } } } as unknown as Project;
}

function error(fn: () => unknown): LakehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LakehouseError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('publish.redshift targets', () => {
  it('accepts the three kinds with their defaults', () => {
    expect(
      redshiftTarget(
        {
          prod: { kind: 'provisioned', host: 'h', database: 'd', user: 'u', password_env: 'RS_PW', staging },
        },
        'prod',
      ),
    ).toMatchObject({ port: 5439, schema: 'gold', ssl: true, iam: false });
    expect(
      redshiftTarget(
        { sls: { kind: 'serverless', workgroup: 'wg', database: 'dev', region: 'eu-west-1', staging } },
        'sls',
      ),
    ).toMatchObject({ workgroup: 'wg', schema: 'gold' });
    // With a profile, its region stands for the target's (read when publishing).
    expect(
      redshiftTarget(
        { sls: { kind: 'serverless', workgroup: 'wg', database: 'dev', profile: 'analyst', staging } },
        'sls',
      ),
    ).toMatchObject({ profile: 'analyst' });
    expect(
      redshiftTarget(
        {
          prod: {
            kind: 'provisioned',
            host: 'h',
            database: 'd',
            user: 'u',
            iam: true,
            cluster_identifier: 'c',
            profile: 'analyst',
          },
        },
        'prod',
      ),
    ).toMatchObject({ iam: true, profile: 'analyst' });
    expect(
      redshiftTarget({ pg: { kind: 'postgres', host: 'h', database: 'd', user: 'u' } }, 'pg'),
    ).toMatchObject({
      port: 5432,
      ssl: false,
    });
  });

  it.each([
    [
      { kind: 'provisioned', host: 'h', database: 'd', user: 'u' },
      'give password_env (the variable holding the password) or iam: true',
    ],
    [
      { kind: 'provisioned', host: 'h', database: 'd', user: 'u', iam: true },
      'iam: true needs cluster_identifier and region',
    ],
    // A password written in the project is refused: it must come from the environment.
    [{ kind: 'postgres', host: 'h', database: 'd', user: 'u', password: 'secret' }, 'password'],
    [{ kind: 'serverless', database: 'dev', region: 'eu-west-1', staging }, 'exactly one of workgroup'],
    [{ kind: 'serverless', workgroup: 'wg', database: 'dev', region: 'eu-west-1' }, 'loads through S3'],
    [
      { kind: 'serverless', workgroup: 'wg', database: 'dev', staging },
      'publish.redshift.t.region: give region (or a profile whose region is set)',
    ],
    [
      { kind: 'serverless', workgroup: 'wg', database: 'dev', staging, profile: '' },
      'publish.redshift.t.profile: expected the name of a profile of the shared AWS files',
    ],
    [
      { kind: 'serverless', workgroup: 'wg', database: 'dev', staging, profile: '[profile analyst]' },
      'with no spaces, brackets or quotes',
    ],
    [
      { kind: 'provisioned', host: 'h', database: 'd', user: 'u', password_env: 'X', profile: 7 },
      'publish.redshift.t.profile: Invalid input: expected string',
    ],
    // PostgreSQL makes no AWS call: a profile there is a mistake, not a setting.
    [
      { kind: 'postgres', host: 'h', database: 'd', user: 'u', profile: 'analyst' },
      'Unrecognized key: "profile"',
    ],
    [
      {
        kind: 'provisioned',
        host: 'h',
        database: 'd',
        user: 'u',
        password_env: 'X',
        staging: { s3: 'bucket/x', iam_role: 'r' },
      },
      'expected s3://bucket/prefix/',
    ],
  ])('refuses %j naming the field', (entry, message) => {
    const e = error(() => redshiftTarget({ t: entry }, 't'));
    expect(e.code).toBe('PROJECT_INVALID');
    expect(e.message).toContain('publish.redshift.t');
    expect(e.message).toContain(message);
  });

  it('names the targets there are when one is missing, and refuses an unknown kind', () => {
    const missing = error(() => redshiftTarget({ a: {}, b: {} }, 'prod'));
    expect(missing.code).toBe('INVALID_ARGUMENT');
    expect(missing.message).toContain('Targets: a, b.');
    expect(error(() => redshiftTarget({ t: { kind: 'mysql' } }, 't')).message).toContain(
      'expected provisioned, serverless or postgres',
    );
  });

  it('takes the password from the variable the target names, and a URL as it is', async () => {
    const p = project({
      local: {
        kind: 'postgres',
        host: 'db',
        port: 6543,
        database: 'w',
        user: 'analyst',
        password_env: 'LOCAL_PW',
      },
      sls: { kind: 'serverless', workgroup: 'wg', database: 'dev', region: 'eu-west-1', staging },
    });
    const local = await resolveRedshiftTarget(p, { target: 'local', env: { LOCAL_PW: 's3cret' } });
    expect(local.connection).toMatchObject({
      kind: 'pg',
      dialect: 'postgres',
      config: { host: 'db', port: 6543, user: 'analyst', database: 'w', password: 's3cret' },
    });
    await expect(resolveRedshiftTarget(p, { target: 'local', env: {} })).rejects.toThrow(
      'environment variable LOCAL_PW, which is not set',
    );
    // The app reads its environment once, when it starts: setting the variable elsewhere does nothing.
    await expect(resolveRedshiftTarget(p, { target: 'local', env: {} })).rejects.toThrow(
      'for the app, in the shell that starts it, then start it again',
    );
    // Set but empty (an unset shell variable copied into it) is named too, not left to the server.
    await expect(resolveRedshiftTarget(p, { target: 'local', env: { LOCAL_PW: '' } })).rejects.toThrow(
      'environment variable LOCAL_PW, which is empty',
    );
    const serverless = await resolveRedshiftTarget(p, { target: 'sls', env: {} });
    expect(serverless.connection).toMatchObject({
      kind: 'data-api',
      target: { workgroupName: 'wg', database: 'dev' },
      staging: { uri: 's3://bucket/stage/', iamRole: staging.iam_role },
    });
    // The CLI's --url: typed by the user in their shell, any host gets PGPASSWORD.
    const url = await resolveRedshiftTarget(p, {
      url: 'postgres://me@h:5433/db',
      schema: 'mart',
      passwordFromEnvFor: 'any-host',
      env: { PGPASSWORD: 'pw' },
    });
    expect(url).toMatchObject({
      schema: 'mart',
      connection: { kind: 'pg', config: { connectionString: 'postgres://me@h:5433/db', password: 'pw' } },
    });
    // The password's sources as --help gives them: the message named PGPASSWORD alone.
    await expect(resolveRedshiftTarget(p, { url: 'mysql://h/db' })).rejects.toThrow(
      '--url: expected postgres://user@host:port/database (the password comes from PGPASSWORD or ~/.pgpass).',
    );
    // A URL refused for its scheme is not echoed: its password would land in the terminal or a CI log.
    const refused = resolveRedshiftTarget(p, { url: 'postgress://me:Pa55word@h/db' });
    await expect(refused).rejects.toThrow('expected postgres://');
    await expect(refused).rejects.not.toThrow('Pa55word');
  });

  it('gives a URL from the API (the default) the password only on loopback', async () => {
    const p = project({});
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.8.9.10', '[::1]', '[::ffff:127.0.0.1]']) {
      const local = await resolveRedshiftTarget(p, {
        url: `postgres://me@${host}:5433/db`,
        passwordFromEnvFor: 'loopback-only',
        env: { PGPASSWORD: 'pw' },
      });
      expect(local.connection, host).toMatchObject({ kind: 'pg', config: { password: 'pw' } });
    }
    for (const url of [
      'postgres://me@h:5433/db',
      'postgres://me@192.0.2.1/db',
      'postgres://me@128.0.0.1/db',
      'postgres://me@localhost.example.com/db',
      'postgres://me@127.0.0.1.example.com/db',
      'postgres://me@[::2]/db',
      'postgres://me@localhost/db?host=evil.example',
      'postgres://me@%2Ftmp%2Fsock/db',
    ]) {
      await expect(resolveRedshiftTarget(p, { url, env: { PGPASSWORD: 'pw' } }), url).rejects.toThrow(
        'the app connects by URL only to a database on this computer',
      );
    }
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('refuses a schema that is not a plain name, in lakehouse.yaml and from --schema', async () => {
    // A backslash ends a Redshift string early: this schema once broke out of the catalog query.
    const schema = "x\\'; DROP SCHEMA gold CASCADE; --";
    const inFile = error(() =>
      redshiftTarget({ pg: { kind: 'postgres', host: 'h', database: 'd', user: 'u', schema } }, 'pg'),
    );
    expect(inFile.code).toBe('PROJECT_INVALID');
    expect(inFile.message).toContain(
      'publish.redshift.pg.schema: expected a schema name: a letter or _, then letters, digits, _ or $, e.g. gold',
    );
    const flag = await resolveRedshiftTarget(project({}), {
      url: 'postgres://me@h/db',
      passwordFromEnvFor: 'any-host',
      schema,
    }).catch((e: unknown) => e);
    expect(flag).toBeInstanceOf(LakehouseError);
    expect(flag).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'schema', schema } });
    expect((flag as LakehouseError).message).toContain('expected a schema name');
    expect(
      (
        await resolveRedshiftTarget(project({}), {
          url: 'postgres://me@h/db',
          passwordFromEnvFor: 'any-host',
          schema: 'Mart_2$',
        })
      ).schema,
    ).toBe('Mart_2$');
  });
});
