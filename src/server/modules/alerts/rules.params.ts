import type { ErrorDetail } from '../../lib/errors.js';
import type { RuleKind, RuleParams } from './alerts.schemas.js';

type ParamName = keyof RuleParams;

/** The parameters each kind takes: `required` ones, and `oneOf` groups of which exactly one is given. */
const KIND_PARAMS: Record<RuleKind, { required: ParamName[]; optional: ParamName[]; oneOf?: ParamName[] }> = {
  agent_offline: { required: ['selector', 'minutes'], optional: [] },
  metric_above: { required: ['selector', 'metric', 'threshold', 'minutes'], optional: [] },
  job_failed: { required: [], optional: [], oneOf: ['script_id', 'profile_id', 'schedule_id'] },
  run_failure_rate: { required: ['percent'], optional: [], oneOf: ['last_runs', 'window_minutes'] },
  deployment_failed: { required: [], optional: ['service_id'] },
  queue_backlog: { required: ['queue_id', 'items'], optional: [] },
};

/** The problems of a kind's parameters, one detail per field (`params.<name>`). */
export function paramsProblems(kind: RuleKind, params: RuleParams): ErrorDetail[] {
  const spec = KIND_PARAMS[kind];
  const takes = new Set<ParamName>([...spec.required, ...spec.optional, ...(spec.oneOf ?? [])]);
  const details: ErrorDetail[] = [];
  for (const name of spec.required)
    if (params[name] === undefined)
      details.push({ field: `params.${name}`, message: `required for ${kind}` });
  for (const name of Object.keys(params) as ParamName[])
    if (!takes.has(name)) details.push({ field: `params.${name}`, message: `not a parameter of ${kind}` });
  if (spec.oneOf) {
    const given = spec.oneOf.filter((name) => params[name] !== undefined);
    if (given.length !== 1)
      details.push({
        field: `params.${spec.oneOf[0] ?? ''}`,
        message: `give exactly one of ${spec.oneOf.join(', ')}`,
      });
  }
  return details;
}

/** A one-line description of what a rule watches, for summaries. */
export function describeRule(kind: RuleKind, params: RuleParams): string {
  switch (kind) {
    case 'agent_offline':
      return `agent offline for ${params.minutes ?? 0} min`;
    case 'metric_above':
      return `${params.metric ?? ''} above ${params.threshold ?? 0}% for ${params.minutes ?? 0} min`;
    case 'job_failed':
      return 'the latest job failed';
    case 'run_failure_rate':
      return `run failure rate at or above ${params.percent ?? 0}%`;
    case 'deployment_failed':
      return 'the latest deployment failed';
    case 'queue_backlog':
      return `more than ${params.items ?? 0} items waiting`;
  }
}
