import { Type } from 'typebox';
import { OsType, RunStatus } from '../../../protocol/jobs.js';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { JobCreateBody } from './jobs.schemas.js';

/**
 * The most agents a run's id list names, and its highest concurrency: twice the largest fleet
 * measured (50,000 agents on three nodes, `npm run bench`), so that fleet fits one run with room
 * to grow, and nothing unmeasured is promised. Every run-starting body (runs, script execute,
 * profile apply, schedules) uses it.
 */
export const MAX_RUN_AGENTS = 100_000;

export const TargetSchema = Type.Object(
  {
    agent_ids: Type.Optional(Type.Array(Id, { maxItems: MAX_RUN_AGENTS })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
    group_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** One of a run's several commands: checked as a single command's fields are. */
export const RunCommandSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Shown on its jobs' })),
    interpreter: JobCreateBody.properties.interpreter,
    command: JobCreateBody.properties.command,
    timeout_seconds: JobCreateBody.properties.timeout_seconds,
  },
  { additionalProperties: false },
);

export const RunCreateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    target: TargetSchema,
    job: Type.Optional(JobCreateBody),
    commands: Type.Optional(
      Type.Array(RunCommandSchema, {
        minItems: 2,
        maxItems: 20,
        description:
          'Instead of job: several commands started at once on each agent, one job per agent and command',
      }),
    ),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUN_AGENTS })),
    failure_threshold: Type.Optional(Type.Integer({ minimum: 1 })),
    deadline_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 7 * 86_400,
        description: 'How long offline agents are waited for',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RunSchema = Type.Object({
  id: Id,
  name: Type.String(),
  source: Type.String(),
  target: Type.Unknown(),
  spec: Type.Unknown(),
  concurrency: Type.Integer(),
  failure_threshold: Type.Union([Type.Integer(), Type.Null()]),
  status: RunStatus,
  deadline_at: NullableTimestamp,
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
  finished_at: NullableTimestamp,
  counts: Type.Record(Type.String(), Type.Integer()),
});

export const RunListQuery = Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(RunStatus) })]);
