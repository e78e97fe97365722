import type { Executor } from '../db/executor.js';
import { sha256 } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import { agentsRepo, type Agent } from '../modules/agents/agents.repo.js';
import { AGENT_TOKEN_PREFIX } from '../modules/enrollment/registration.service.js';
import type { JobsService } from '../modules/execution/jobs.service.js';

/** Where an agent stands by the token it used: still valid, deleted, or its token replaced or unknown. */
export type AgentStanding = { kind: 'valid' } | { kind: 'deleted'; reason: string } | { kind: 'revoked' };

/**
 * Resolves an agent token. A deleted agent is answered 410 Gone (or its open socket closed with
 * 4410), which the agent takes as its order to uninstall, so its pending uninstall job counts as
 * delivered.
 */
export class AgentAuthenticator {
  readonly #db: Executor;
  readonly #jobs: Pick<JobsService, 'markUninstallDelivered'>;

  constructor(deps: { db: Executor; jobs: Pick<JobsService, 'markUninstallDelivered'> }) {
    this.#db = deps.db;
    this.#jobs = deps.jobs;
  }

  async authenticate(token: string | null): Promise<Agent> {
    if (!token?.startsWith(`${AGENT_TOKEN_PREFIX}_`))
      throw new AppError('unauthorized', 'an agent token is required');
    const agent = await agentsRepo.findByTokenHash(this.#db, sha256(token));
    if (!agent) throw new AppError('unauthorized', 'agent token is not valid');
    if (agent.deleted_at) {
      await this.#jobs.markUninstallDelivered(agent.id, '410 Gone');
      throw new AppError('gone', 'this agent was deleted: uninstall', {
        details: [{ message: agent.delete_reason ?? 'deleted', uninstall: true }],
      });
    }
    return agent;
  }

  /**
   * Authenticates again an agent whose socket was opened earlier, by the token it opened it with:
   * a registration since replaced that token (`revoked`), or the agent was deleted (`deleted`: the
   * caller closes the socket with 4410, the uninstall order, which counts as delivered).
   */
  async recheck(agent: Pick<Agent, 'token_hash'>): Promise<AgentStanding> {
    const current = agent.token_hash
      ? await agentsRepo.findByTokenHash(this.#db, agent.token_hash)
      : undefined;
    if (!current) return { kind: 'revoked' };
    if (!current.deleted_at) return { kind: 'valid' };
    await this.#jobs.markUninstallDelivered(current.id, 'WebSocket close 4410');
    return { kind: 'deleted', reason: current.delete_reason ?? 'agent deleted' };
  }
}
