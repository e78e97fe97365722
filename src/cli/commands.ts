import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentsCommands } from './agents.js';
import { ApiClient, CredentialStore, login } from './client.js';
import { UsageError, usageOf, type ClientCommand, type CommandContext } from './command.js';
import { completionCommand, type CompletionEntry } from './completion.js';
import { enrollCommands } from './enroll.js';
import { jobsCommands } from './jobs.js';
import { ask, Terminal } from './output.js';
import { profilesCommands } from './profiles.js';
import { runCommands } from './run.js';
import { scriptsCommands } from './scripts.js';

/** The operator's commands: each family in its own file, talking to the server's API only. */
const clientCommands: ClientCommand[] = [
  ...agentsCommands,
  ...runCommands,
  ...jobsCommands,
  ...scriptsCommands,
  ...profilesCommands,
  ...enrollCommands,
  completionCommand(() => completionEntries),
];

/** The server-side commands below, as shell completion offers them. */
const serverCommandWords: CompletionEntry[] = [
  { words: ['server'], options: { 'with-local-agent': { type: 'boolean' } } },
  { words: ['migrate'], options: {} },
  { words: ['db', 'reset'], options: { yes: { type: 'boolean' } } },
  { words: ['db', 'seed'], options: {} },
  {
    words: ['admin', 'create'],
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
    },
  },
  {
    words: ['login'],
    options: { server: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
  },
  { words: ['whoami'], options: {} },
  {
    words: ['agent'],
    options: Object.fromEntries(
      ['server', 'token', 'key', 'state-dir', 'max-jobs', 'transport', 'name'].map((flag) => [
        flag,
        { type: 'string' },
      ]),
    ),
  },
];

const completionEntries: CompletionEntry[] = [...serverCommandWords, ...clientCommands];

/** The client command `argv` starts with: the one whose words match most. */
function clientCommandOf(argv: readonly string[]): ClientCommand | undefined {
  return clientCommands
    .filter((command) => command.words.every((word, i) => argv[i] === word))
    .sort((a, b) => b.words.length - a.words.length)[0];
}

const CLIENT_USAGE = clientCommands
  .map((command) => `  ${usageOf(command).slice('fleetplane '.length)}\n      ${command.summary}`)
  .join('\n');

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

Operator commands (the stored login, or FLEETPLANE_API_KEY with FLEETPLANE_SERVER):
${CLIENT_USAGE}
`;

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Runs an operator command: a bad command line prints its usage and exits 2, as shells expect. */
async function runClientCommand(
  command: ClientCommand,
  argv: string[],
  env: NodeJS.ProcessEnv,
  credentials: CredentialStore,
): Promise<number> {
  const terminal = new Terminal({ stdout: process.stdout, stderr: process.stderr });
  let client: ApiClient | undefined;
  const ctx: CommandContext = {
    terminal,
    client: () => (client ??= ApiClient.fromEnvironment(env, credentials)),
  };
  try {
    return await command.invoke(argv, ctx);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    terminal.err(`fleetplane: ${error.message}`);
    terminal.err(`usage: ${usageOf(command)}`);
    return 2;
  }
}

function credentialStore(env: NodeJS.ProcessEnv): CredentialStore {
  return new CredentialStore(
    env.FLEETPLANE_CLI_CONFIG ?? path.join(os.homedir(), '.config', 'fleetplane', 'credentials.json'),
  );
}

/** The commands that open the database or run the server, in server-commands.ts. */
const SERVER_SIDE = new Set(['server', 'migrate', 'db', 'admin']);

function parseServerArgs(argv: string[]) {
  return parseArgs({
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
}

/** Runs one server-side or client command; -1 means it keeps running (the server). */
export async function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const credentials = credentialStore(env);
  const clientCommand = clientCommandOf(argv);
  if (clientCommand)
    return runClientCommand(clientCommand, argv.slice(clientCommand.words.length), env, credentials);
  let parsed: ReturnType<typeof parseServerArgs>;
  try {
    parsed = parseServerArgs(argv);
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw error;
    console.error(`fleetplane: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, sub] = positionals;
  if (values.help || !command) {
    print(USAGE);
    return command ? 0 : 1;
  }
  if (SERVER_SIDE.has(command)) {
    // loaded only here: the operator's commands start without the server's code
    const { runServerCommand } = await import('./server-commands.js');
    const code = await runServerCommand(command, sub, values, env, print);
    if (code !== undefined) return code;
    print(USAGE);
    return 1;
  }

  switch (command) {
    case 'login': {
      const server = values.server ?? env.FLEETPLANE_SERVER ?? 'http://127.0.0.1:8080';
      const email = values.email ?? (await ask('email: '));
      const password = values.password ?? env.FLEETPLANE_PASSWORD ?? (await ask('password: '));
      const result = await login(credentials, server, email, password);
      print(`logged in as ${result.user.email} in "${result.org.name}"; token stored in ${credentials.file}`);
      return 0;
    }
    case 'whoami': {
      const me = await ApiClient.fromEnvironment(env, credentials).get<{
        user: { email: string } | null;
        org: { name: string; id: string };
        roles: { name: string }[];
        permissions: string[];
      }>('/api/v1/auth/me');
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
