import type { Executor } from '../db/executor.js';
import { sha256 } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import { agentsRepo, type AgentRow } from '../modules/agents/agents.repo.js';
import { AGENT_TOKEN_PREFIX } from '../modules/enrollment/registration.service.js';
import type { JobsService } from '../modules/execution/jobs.service.js';

/**
 * Resolves an agent token. A deleted agent is answered 410 Gone, which the agent takes as its
 * order to uninstall, so its pending uninstall job counts as delivered.
 */
export class AgentAuthenticator {
  readonly #db: Executor;
  readonly #jobs: JobsService;

  constructor(deps: { db: Executor; jobs: JobsService }) {
    this.#db = deps.db;
    this.#jobs = deps.jobs;
  }

  async authenticate(token: string | null): Promise<AgentRow> {
    if (!token?.startsWith(`${AGENT_TOKEN_PREFIX}_`))
      throw new AppError('unauthorized', 'an agent token is required');
    const agent = await agentsRepo.findByTokenHash(this.#db, sha256(token));
    if (!agent) throw new AppError('unauthorized', 'agent token is not valid');
    if (agent.deleted_at) {
      await this.#jobs.markUninstallDelivered(agent.id);
      throw new AppError('gone', 'this agent was deleted: uninstall', {
        details: [{ message: agent.delete_reason ?? 'deleted', uninstall: true }],
      });
    }
    return agent;
  }
}
