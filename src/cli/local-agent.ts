import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../server/config.js';
import type { RequestContext } from '../server/modules/access/context.js';
import { PermissionSet, allPermissions } from '../server/modules/access/permissions.js';
import { SERVER_AGENT_TAG } from '../server/modules/deployments/deployments.service.js';

const ENROLLMENT_TTL_MS = 10 * 60 * 1000;

export interface LocalAgent {
  stop(): Promise<void>;
}

/** The server acting for itself, to enroll its own local agent into the primary organisation. */
function setupContext(orgId: string): RequestContext {
  return {
    orgId,
    actor: { type: 'system', id: null, label: 'local agent setup' },
    userId: null,
    sessionId: null,
    permissions: new PermissionSet(allPermissions),
    meta: { ip: null, userAgent: 'fleetplane server', requestId: null },
  };
}

/**
 * For a newcomer: one agent on this machine, enrolled to this server, so a first command can
 * run at once. Its state lives in the data dir; after the first start it reconnects with its
 * own token and no enrollment is needed.
 */
export async function startLocalAgent(
  app: FastifyInstance,
  config: Readonly<Config>,
  url: string,
  print: (line: string) => void,
): Promise<LocalAgent> {
  const stateDir = path.join(config.dataDir, 'local-agent');
  const args = ['agent', '--server', url, '--state-dir', stateDir, '--name', 'local'];
  if (!existsSync(path.join(stateDir, 'agent.json'))) {
    const primary = await app.services.orgs.primary();
    if (!primary) throw new Error('no primary organisation to enroll the local agent into');
    const { secret } = await app.services.enrollment.create(setupContext(primary.id), {
      name: 'local agent (first start)',
      // services that deploy "on the server" run on the agent holding this tag
      tags: [SERVER_AGENT_TAG],
      max_uses: 1,
      expires_at: new Date(Date.now() + ENROLLMENT_TTL_MS).toISOString(),
    });
    args.push('--token', secret);
  }
  // The same runtime and loader flags as this process, so it works from source and from dist/.
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell how this process was started');
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, entry, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  print(`A local agent runs on this machine (state in ${stateDir}).`);
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
