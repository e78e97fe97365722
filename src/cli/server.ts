import { randomBytes } from 'node:crypto';
import { buildApp } from '../server/app.js';
import type { Config } from '../server/config.js';
import { migrateToLatest, openDatabase, type Database } from '../server/db/database.js';
import { authRepo } from '../server/modules/auth/auth.repo.js';
import type { FastifyInstance } from 'fastify';
import { startLocalAgent } from './local-agent.js';

export async function openMigrated(config: Readonly<Config>): Promise<Database> {
  const database = await openDatabase(config.database);
  const outcome = await migrateToLatest(database);
  if (outcome.error) {
    await database.close();
    throw outcome.error;
  }
  return database;
}

/** On a fresh install, creates the first owner and prints the credentials this once. */
async function bootstrapAdmin(
  app: FastifyInstance,
  database: Database,
  print: (line: string) => void,
): Promise<void> {
  if ((await authRepo.countUsers(database.db)) > 0) return;
  const email = 'admin@fleetplane.local';
  const password = randomBytes(12).toString('base64url');
  await app.services.auth.createAdmin(
    { ip: null, userAgent: 'fleetplane-server', requestId: null },
    { email, password, name: 'Administrator', orgName: 'Default' },
  );
  print('');
  print('  First start: an administrator was created. These credentials are shown once.');
  print(`    email:    ${email}`);
  print(`    password: ${password}`);
  print('');
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(
  config: Readonly<Config>,
  print: (line: string) => void,
  options: { localAgent?: boolean } = {},
): Promise<RunningServer> {
  const database = await openMigrated(config);
  const app = await buildApp({ config, database });
  await bootstrapAdmin(app, database, print);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  print(
    `Fleetplane ${database.kind === 'sqlite' ? 'on SQLite' : 'on PostgreSQL'} listening at ${url} (API docs: ${url}/docs)`,
  );
  const localAgent = options.localAgent ? await startLocalAgent(app, config, url, print) : undefined;
  let stopping: Promise<void> | undefined;
  return {
    app,
    url,
    stop: () =>
      (stopping ??= (async () => {
        // Stops accepting, lets in-flight requests finish, then closes the database.
        const timer = setTimeout(() => {
          app.log.error('shutdown timed out; exiting');
          process.exit(1);
        }, config.shutdownTimeoutMs);
        timer.unref();
        await localAgent?.stop();
        await app.close();
        await database.close();
        clearTimeout(timer);
      })()),
  };
}
