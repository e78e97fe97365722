import type { Executor } from '../../db/executor.js';
import { assertNever } from '../../lib/errors.js';
import { watchAgents } from '../agents/agents.watch.js';
import { alertSources, type Outcome } from './alerts.sources.js';
import type { MetricName } from './alerts.schemas.js';
import type { Rule } from './rules.repo.js';

/** A subject meeting a rule's condition now. */
export interface Finding {
  subject: string;
  label: string;
  summary: string;
  /**
   * Since when the condition has held, when the rule must see it hold for `minutes` before it
   * fires (known for offline agents; tracked by the evaluator for metrics); undefined: fire now.
   */
  since?: string;
  /** The evaluator tracks since when this holds (metric_above). */
  tracked?: true;
}

const MINUTE = 60_000;

/** What a rule finds in trouble now, whether or not it has held long enough to fire. */
export async function findingsOf(db: Executor, rule: Rule, now: Date): Promise<Finding[]> {
  const p = rule.params;
  switch (rule.kind) {
    case 'agent_offline': {
      const agents = await watchAgents(db, rule.org_id, p.selector ?? {});
      return agents
        .filter((agent) => agent.status === 'offline')
        .map((agent) => {
          const since = agent.last_seen_at ?? agent.created_at;
          return {
            subject: `agent:${agent.id}`,
            label: agent.name,
            summary: `${agent.name} offline since ${since}`,
            since,
          };
        });
    }
    case 'metric_above': {
      const metric = p.metric as MetricName;
      const threshold = p.threshold ?? 100;
      const agents = await watchAgents(db, rule.org_id, p.selector ?? {});
      return agents.flatMap((agent) => {
        const value = agent.metrics?.[metric];
        if (agent.status !== 'online' || value === undefined || value <= threshold) return [];
        return [
          {
            subject: `agent:${agent.id}`,
            label: agent.name,
            summary: `${agent.name}: ${metric} at ${value} (above ${threshold})`,
            tracked: true as const,
          },
        ];
      });
    }
    case 'job_failed':
      return jobFindings(db, rule);
    case 'run_failure_rate': {
      const window =
        p.window_minutes !== undefined
          ? { since: new Date(now.getTime() - p.window_minutes * MINUTE).toISOString() }
          : { lastRuns: p.last_runs ?? 20 };
      const { failed, total } = await alertSources.runOutcomes(db, rule.org_id, window);
      const rate = total === 0 ? 0 : Math.round((failed * 1000) / total) / 10;
      if (total === 0 || rate < (p.percent ?? 100)) return [];
      return [
        { subject: 'runs', label: 'runs', summary: `${failed} of the last ${total} runs failed (${rate}%)` },
      ];
    }
    case 'deployment_failed': {
      const latest = await alertSources.lastDeployments(db, rule.org_id, p.service_id);
      return latest
        .filter((d) => d.failed)
        .map((d) => ({
          subject: `service:${d.service_id}`,
          label: d.service_name,
          summary: `the latest deployment of ${d.service_name} failed (${d.deployment_id})`,
        }));
    }
    case 'queue_backlog': {
      const queueId = p.queue_id ?? '';
      const waiting = await alertSources.waitingItems(db, rule.org_id, queueId);
      if (waiting <= (p.items ?? 0)) return [];
      const name = await alertSources.nameOf(db, 'queues', queueId);
      return [
        {
          subject: `queue:${queueId}`,
          label: name,
          summary: `${waiting} items wait in ${name} (more than ${p.items ?? 0})`,
        },
      ];
    }
    default:
      return assertNever(rule.kind);
  }
}

/** The latest outcome of the script, profile or schedule the rule names: a finding when it failed. */
async function jobFindings(db: Executor, rule: Rule): Promise<Finding[]> {
  const p = rule.params;
  let found: {
    kind: string;
    id: string;
    outcome: Outcome | undefined;
    table: 'scripts' | 'profiles' | 'schedules';
  };
  if (p.script_id !== undefined)
    found = {
      kind: 'script',
      id: p.script_id,
      table: 'scripts',
      outcome: await alertSources.lastScriptJob(db, rule.org_id, p.script_id),
    };
  else if (p.profile_id !== undefined)
    found = {
      kind: 'profile',
      id: p.profile_id,
      table: 'profiles',
      outcome: await alertSources.lastProfileRun(db, rule.org_id, p.profile_id),
    };
  else if (p.schedule_id !== undefined)
    found = {
      kind: 'schedule',
      id: p.schedule_id,
      table: 'schedules',
      outcome: await alertSources.lastScheduleFire(db, rule.org_id, p.schedule_id),
    };
  else return [];
  if (!found.outcome?.failed) return [];
  const name = await alertSources.nameOf(db, found.table, found.id);
  return [
    {
      subject: `${found.kind}:${found.id}`,
      label: name,
      summary: `the latest ${found.kind === 'script' ? 'job' : 'run'} of ${found.kind} ${name} failed (${found.outcome.id})`,
    },
  ];
}
