import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/client.js';
import { dialects, type Dialect } from '../support/harness.js';
import { fleetplane, freePort, type Proc } from '../support/processes.js';

/** Runs one CLI command to its end and returns its exit code and output. */
async function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const proc = fleetplane(args, env);
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
  return { code, output: proc.output.join('\n') };
}

function databaseEnv(dialect: Dialect, dir: string): Record<string, string> {
  if (dialect === 'sqlite') return {};
  return {
    DATABASE_URL: process.env.FLEETPLANE_TEST_PG_URL ?? '',
    DATABASE_SCHEMA: `cli_${randomBytes(5).toString('hex')}`,
    FLEETPLANE_DATA_DIR: dir,
  };
}

// Each test runs several `fleetplane` processes one after another, each compiling with tsx on start.
describe.each(dialects)('cli on %s', { timeout: 120_000 }, (dialect) => {
  let dir: string;
  let env: Record<string, string>;
  let server: Proc | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-cli-'));
    env = {
      FLEETPLANE_DATA_DIR: path.join(dir, 'data'),
      FLEETPLANE_CLI_CONFIG: path.join(dir, 'credentials.json'),
      FLEETPLANE_AUTH_RATE_LIMIT: '1000',
      ...databaseEnv(dialect, path.join(dir, 'data')),
    };
  });
  afterAll(async () => {
    await server?.stop();
    if (env.DATABASE_SCHEMA) {
      const db = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: env.DATABASE_URL }) }),
      });
      await sql`drop schema if exists ${sql.id(env.DATABASE_SCHEMA)} cascade`.execute(db);
      await db.destroy();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('cli: migrate, seed, admin create, login and whoami work against a real server', async () => {
    expect(await run(['migrate'], env)).toMatchObject({
      code: 0,
      output: expect.stringContaining('up to date'),
    });

    const seeded = await run(['db', 'seed'], env);
    expect(seeded.code).toBe(0);
    const password = seeded.output.match(/password for all: (\S+?)\)/)?.[1];
    expect(password).toBeDefined();
    for (const role of ['owner', 'admin', 'operator', 'viewer'])
      expect(seeded.output).toContain(`${role}@demo.fleetplane.local`);
    expect((await run(['db', 'seed'], env)).code).toBe(1);

    const created = await run(
      ['admin', 'create', '--email', 'boss@cli.test', '--password', 'a long enough password'],
      env,
    );
    expect(created).toMatchObject({ code: 0, output: expect.stringContaining('created boss@cli.test') });

    const port = await freePort();
    server = fleetplane(['server'], { ...env, PORT: String(port), LOG_LEVEL: 'warn' });
    await server.waitFor(/listening at/);
    const url = `http://127.0.0.1:${port}`;
    // A seeded user logs in over HTTP with the seeded role.
    const viewer = await call({ url }, 'POST', '/api/v1/auth/login', {
      body: { email: 'viewer@demo.fleetplane.local', password },
    });
    expect(viewer.status).toBe(200);

    const login = await run(
      ['login', '--server', url, '--email', 'boss@cli.test', '--password', 'a long enough password'],
      env,
    );
    expect(login.code).toBe(0);
    expect(statSync(env.FLEETPLANE_CLI_CONFIG ?? '').mode & 0o777).toBe(0o600);
    const whoami = await run(['whoami'], env);
    expect(whoami.code).toBe(0);
    expect(whoami.output).toContain('boss@cli.test in "Demo"');
    expect(whoami.output).toContain('roles: owner');
  });

  it('cli: db reset --yes empties the database; the server starts fresh afterwards', async () => {
    await server?.stop();
    server = undefined;
    expect((await run(['db', 'reset', '--yes'], env)).code).toBe(0);
    const port = await freePort();
    server = fleetplane(['server'], { ...env, PORT: String(port), LOG_LEVEL: 'warn' });
    // An empty database gets a new first administrator, printed once.
    await server.waitFor(/password: \S+/);
    await server.waitFor(/listening at/);
    const old = await call({ url: `http://127.0.0.1:${port}` }, 'POST', '/api/v1/auth/login', {
      body: { email: 'boss@cli.test', password: 'a long enough password' },
    });
    expect(old.status).toBe(401);
  });

  it('cli: an unknown command prints the usage and fails', async () => {
    const result = await run(['frobnicate'], env);
    expect(result.code).toBe(1);
    expect(result.output).toContain('fleetplane <command>');
  });
});
