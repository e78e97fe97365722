import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { createServices } from '../server/app.js';
import { loadConfig, type Config } from '../server/config.js';
import { dropEverything, migrateToLatest } from '../server/db/database.js';
import { systemClock } from '../server/lib/clock.js';
import { InProcessEventBus } from '../server/realtime/events.js';
import { CredentialStore, callWithStored, login } from './client.js';
import { ensureConsoleBuilt } from './console-build.js';
import { seedDemo } from './seed.js';
import { openMigrated, startServer } from './server.js';

const USAGE = `fleetplane <command>

  server [--with-local-agent]    run the server (embedded SQLite in ./data unless DATABASE_URL is set),
                                 and optionally an agent on this machine enrolled to it
  migrate                        apply database migrations
  db reset [--yes]               drop and recreate every table (not in production)
  db seed                        add demo data: an organisation with a user of each role, scripts,
                                 baseline profiles, a schedule and an API key (refused when seeded)
  admin create --email E [--password P] [--name N] [--org O]
                                 create an owner of the primary organisation
  login --server URL --email E [--password P]
                                 log in and store the token for later commands
  whoami                         show the stored login's user, organisation and permissions
  agent --server URL (--token ENROLLMENT_TOKEN | --key MACHINE_KEY) [--state-dir DIR] [--max-jobs N]
        [--transport ws|http] [--name NAME]
                                 run the agent on this machine
`;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
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

/** Runs one server-side or client command; -1 means it keeps running (the server). */
export async function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      yes: { type: 'boolean', default: false },
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      server: { type: 'string' },
      'with-local-agent': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub] = positionals;
  const credentials = new CredentialStore(
    env.FLEETPLANE_CLI_CONFIG ?? path.join(os.homedir(), '.config', 'fleetplane', 'credentials.json'),
  );
  if (values.help || !command) {
    print(USAGE);
    return command ? 0 : 1;
  }
  const config = () => loadConfig(env);

  switch (command) {
    case 'server': {
      const cfg = config();
      // the console's sources sit beside its build: web/src next to web/dist
      await ensureConsoleBuilt(path.dirname(cfg.consoleDir), print);
      const server = await startServer(cfg, print, { localAgent: values['with-local-agent'] });
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
    case 'login': {
      const server = values.server ?? env.FLEETPLANE_SERVER ?? 'http://127.0.0.1:8080';
      const email = values.email ?? (await ask('email: '));
      const password = values.password ?? env.FLEETPLANE_PASSWORD ?? (await ask('password: '));
      const result = await login(credentials, server, email, password);
      print(`logged in as ${result.user.email} in "${result.org.name}"; token stored in ${credentials.file}`);
      return 0;
    }
    case 'whoami': {
      const me = await callWithStored<{
        user: { email: string } | null;
        org: { name: string; id: string };
        roles: { name: string }[];
        permissions: string[];
      }>(credentials, 'GET', '/api/v1/auth/me');
      print(`${me.user?.email ?? 'api key'} in "${me.org.name}" (${me.org.id})`);
      print(`roles: ${me.roles.map((r) => r.name).join(', ') || '-'}`);
      print(`permissions: ${me.permissions.length}`);
      return 0;
    }
    default:
      break;
  }
  print(USAGE);
  return 1;
}
