import type { AgentMetrics } from '../../../protocol/agent.js';
import type { Executor } from '../../db/executor.js';
import { agentsRepo, type TargetSelector } from './agents.repo.js';

/** What the alerts module watches of an agent: whether it lives, since when it is silent, its metrics. */
export interface WatchedAgent {
  id: string;
  name: string;
  status: string;
  last_seen_at: string | null;
  created_at: string;
  metrics: AgentMetrics | null;
}

/** Ids per statement: well under the bound-parameter limits of both dialects. */
const IDS_PER_QUERY = 1000;

/**
 * The live agents a selector matches (resolved as runs resolve their targets), with their
 * liveness and latest metrics: one selector query, then the rows by id in chunks.
 */
export async function watchAgents(
  db: Executor,
  orgId: string,
  selector: TargetSelector,
): Promise<WatchedAgent[]> {
  const ids = (await agentsRepo.selectTargets(db, orgId, selector)).map((agent) => agent.id);
  const watched: WatchedAgent[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const rows = await db
      .selectFrom('agents')
      .select(['id', 'name', 'status', 'last_seen_at', 'created_at', 'metrics'])
      .where('org_id', '=', orgId)
      .where('id', 'in', ids.slice(i, i + IDS_PER_QUERY))
      .execute();
    for (const row of rows)
      watched.push({
        ...row,
        metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as AgentMetrics),
      });
  }
  return watched;
}
