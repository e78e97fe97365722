import path from 'node:path';
import { createServices } from '../server/app.js';
import { loadConfig, type Config } from '../server/config.js';
import { dropEverything, migrateToLatest } from '../server/db/database.js';
import { systemClock } from '../server/lib/clock.js';
import { InProcessEventBus } from '../server/realtime/events.js';
import { ensureConsoleBuilt } from './console-build.js';
import { ask } from './output.js';
import { seedDemo } from './seed.js';
import { openMigrated, startServer } from './server.js';

/** The flags these commands read, as the command line parsed them. */
interface ServerArgs {
  yes?: boolean;
  email?: string;
  password?: string;
  name?: string;
  org?: string;
  'with-local-agent'?: boolean;
}

async function withServices<T>(
  config: Readonly<Config>,
  work: (deps: Awaited<ReturnType<typeof servicesFor>>) => Promise<T>,
): Promise<T> {
  const deps = await servicesFor(config);
  try {
    return await work(deps);
  } finally {
    await deps.database.close();
  }
}

async function servicesFor(config: Readonly<Config>) {
  const database = await openMigrated(config);
  const logger = {
    info: () => undefined,
    warn: () => undefined,
    error: (o: object, m?: string) => console.error(m, o),
  };
  // One-shot commands publish nothing anyone listens to: an in-process bus is enough.
  const bus = new InProcessEventBus();
  return { database, services: createServices({ config, database, clock: systemClock, logger, bus }) };
}

/**
 * The commands that run the server or work on its database directly; undefined when `command sub`
 * is none of them. -1 means it keeps running (the server).
 */
export async function runServerCommand(
  command: string,
  sub: string | undefined,
  values: ServerArgs,
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number | undefined> {
  const config = () => loadConfig(env);
  switch (command) {
    case 'server': {
      const cfg = config();
      // the console's sources sit beside its build: web/src next to web/dist
      await ensureConsoleBuilt(path.dirname(cfg.consoleDir), print);
      const server = await startServer(cfg, print, { localAgent: values['with-local-agent'] ?? false });
      const stop = () => {
        server.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return -1;
    }
    case 'migrate': {
      const database = await openMigrated(config());
      await database.close();
      print('database is up to date');
      return 0;
    }
    case 'db': {
      if (sub === 'reset') {
        const cfg = config();
        if (cfg.env === 'production') throw new Error('db reset is refused when NODE_ENV=production');
        if (
          !values.yes &&
          (await ask('This deletes every row in the database. Type "reset" to go on: ')) !== 'reset'
        ) {
          print('nothing was changed');
          return 1;
        }
        const database = await openMigrated(cfg);
        try {
          await dropEverything(database);
          const outcome = await migrateToLatest(database);
          if (outcome.error) throw outcome.error;
        } finally {
          await database.close();
        }
        print('database reset');
        return 0;
      }
      if (sub === 'seed') {
        const seeded = await withServices(config(), ({ database, services }) => seedDemo(database, services));
        print(`seeded organisation "${seeded.org}"; users (password for all: ${seeded.users[0]?.password}):`);
        for (const user of seeded.users) print(`  ${user.role.padEnd(9)} ${user.email}`);
        for (const line of seeded.content) print(line);
        return 0;
      }
      break;
    }
    case 'admin': {
      if (sub !== 'create') break;
      const email = values.email ?? (await ask('email: '));
      const password = values.password ?? env.FLEETPLANE_PASSWORD ?? (await ask('password: '));
      const created = await withServices(config(), ({ services }) =>
        services.auth.createAdmin(
          { ip: null, userAgent: 'fleetplane admin create', requestId: null },
          { email, password, name: values.name ?? email, orgName: values.org ?? 'Default' },
        ),
      );
      print(`created ${created.user.email}, owner of "${created.org.name}"`);
      return 0;
    }
    default:
      break;
  }
  return undefined;
}
