import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, type AgentConfig } from './agent.js';
import { errorMessage, stderrLog, type AgentLog } from './log.js';
import { restartInto } from './self-update.js';
import { isSingleExecutable } from './version.js';

const AGENT_USAGE = `fleetplane agent --server URL (--token ENROLLMENT_TOKEN | --key MACHINE_KEY) [options]

  Runs the Fleetplane agent on this machine. It registers once (the agent token is kept in the
  state directory) and then runs the jobs the server sends until it is stopped.

  --server URL        the Fleetplane server (optional once registered)
  --token TOKEN       an enrollment token, to register
  --key KEY           a one-time machine key, to register
  --state-dir DIR     where the agent keeps its token and unsent results
                      (default: $FLEETPLANE_AGENT_STATE_DIR or ~/.fleetplane-agent)
  --max-jobs N        jobs run at once; more wait their turn (default: 4)
  --transport ws|http ws pushes jobs at once and falls back to HTTP polling when the WebSocket
                      cannot be opened; http always polls (default: ws)
  --name NAME         the name the server shows for this machine (default: its hostname)

  FLEETPLANE_AGENT_FINGERPRINT overrides the machine fingerprint (several agents on one machine).
  FLEETPLANE_AGENT_SUPERVISED=1: a service manager runs the agent; after a self-update it exits
  (code 75) for the manager to start the new build, instead of starting it itself.
`;

export type ParsedAgentArgs =
  { kind: 'run'; config: AgentConfig } | { kind: 'help' } | { kind: 'error'; message: string };

/** Reads flags and the agent's environment variables once; nothing else in the agent reads either. */
export function parseAgentArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): ParsedAgentArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        key: { type: 'string' },
        'state-dir': { type: 'string' },
        'max-jobs': { type: 'string', default: '4' },
        transport: { type: 'string', default: 'ws' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return { kind: 'error', message: errorMessage(error) };
  }
  if (values.help) return { kind: 'help' };
  const server = values.server?.replace(/\/+$/, '');
  if (server !== undefined && !/^https?:\/\/[^/]/.test(server)) {
    return { kind: 'error', message: `--server must be an http:// or https:// URL, got "${values.server}"` };
  }
  if (values.token !== undefined && values.key !== undefined) {
    return { kind: 'error', message: 'pass --token or --key, not both' };
  }
  const maxJobs = Number(values['max-jobs']);
  if (!Number.isInteger(maxJobs) || maxJobs < 1 || maxJobs > 256) {
    return {
      kind: 'error',
      message: `--max-jobs must be an integer from 1 to 256, got "${values['max-jobs']}"`,
    };
  }
  const transport = values.transport;
  if (transport !== 'ws' && transport !== 'http') {
    return { kind: 'error', message: `--transport must be ws or http, got "${transport}"` };
  }
  const fingerprint = env.FLEETPLANE_AGENT_FINGERPRINT || undefined;
  if (fingerprint !== undefined && (fingerprint.length < 8 || fingerprint.length > 128)) {
    return { kind: 'error', message: 'FLEETPLANE_AGENT_FINGERPRINT must be 8 to 128 characters' };
  }
  const stateDir =
    values['state-dir'] ?? (env.FLEETPLANE_AGENT_STATE_DIR || path.join(os.homedir(), '.fleetplane-agent'));
  return {
    kind: 'run',
    config: {
      server,
      enrollmentToken: values.token,
      machineKey: values.key,
      stateDir: path.resolve(stateDir),
      maxJobs,
      transport,
      name: values.name,
      fingerprint,
      env,
      platform,
      // only the single-file build can replace itself; `fleetplane agent` is updated with its package
      selfUpdate: isSingleExecutable()
        ? { executable: process.execPath, supervised: env.FLEETPLANE_AGENT_SUPERVISED === '1' }
        : undefined,
    },
  };
}

/**
 * `fleetplane agent ...`: argv is what follows `agent`. Resolves to the exit code: 0 when stopped
 * by a signal or uninstalled, 1 when the server refused the agent, 2 for bad flags.
 */
export async function runAgentCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  log: AgentLog = stderrLog,
): Promise<number> {
  const parsed = parseAgentArgs(argv, env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(AGENT_USAGE);
      return 0;
    case 'error':
      process.stderr.write(`${parsed.message}\n\n${AGENT_USAGE}`);
      return 2;
    case 'run':
      break;
  }
  const agent = new Agent(parsed.config, log);
  const onSignal = () => agent.stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await agent.run();
    // swapped for a newer build: it takes over with the same flags
    if (agent.restartForUpdate && parsed.config.selfUpdate)
      return restartInto(parsed.config.selfUpdate, argv, log);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
