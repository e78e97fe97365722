import { Type, type Static } from 'typebox';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { SecretEnvVars } from '../execution/jobs.schemas.js';
import { MAX_RUN_AGENTS, TargetSchema } from '../execution/runs.schemas.js';
import { ParameterValue } from '../scripts/scripts.schemas.js';
import { MIN_INTERVAL_SECONDS } from './schedules.timing.js';

const ParameterValues = Type.Record(Type.String({ maxLength: 64 }), ParameterValue, {
  maxProperties: 50,
  description:
    "Values by parameter name, checked against the script's parameters (422); secrets read back masked",
});

/** What a schedule starts: a run of a library script, of a saved command, or of a profile. */
export const ScheduleAction = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('script'),
      script_id: Id,
      parameters: Type.Optional(ParameterValues),
      secret_env: Type.Optional(SecretEnvVars),
      timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('command'),
      script_id: Id,
      parameters: Type.Optional(ParameterValues),
      secret_env: Type.Optional(SecretEnvVars),
      timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('profile'), profile_id: Id }, { additionalProperties: false }),
]);
export type ScheduleAction = Static<typeof ScheduleAction>;
export type ScheduleActionKind = ScheduleAction['kind'];

const Cron = Type.String({
  minLength: 1,
  maxLength: 200,
  description:
    'Five fields (minute hour day-of-month month day-of-week) or a nickname (`@hourly`, `@daily`, …), ' +
    'read in `timezone`',
});
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone of the cron expression, `UTC` when absent',
});
const IntervalSeconds = Type.Integer({ minimum: MIN_INTERVAL_SECONDS, maximum: 366 * 86_400 });
const Description = Type.String({ maxLength: 4000 });

const runOptions = {
  target: TargetSchema,
  concurrency: Type.Integer({ minimum: 1, maximum: MAX_RUN_AGENTS }),
  failure_threshold: Type.Integer({ minimum: 1 }),
  deadline_seconds: Type.Integer({
    minimum: 1,
    maximum: 7 * 86_400,
    description: 'How long each run waits for offline agents',
  }),
};

export const ScheduleCreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    action: ScheduleAction,
    target: runOptions.target,
    concurrency: Type.Optional(runOptions.concurrency),
    failure_threshold: Type.Optional(runOptions.failure_threshold),
    deadline_seconds: Type.Optional(runOptions.deadline_seconds),
    cron: Type.Optional(Cron),
    timezone: Type.Optional(TimeZone),
    interval_seconds: Type.Optional(IntervalSeconds),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false, description: 'Give `cron` (with `timezone`) or `interval_seconds`' },
);
export type ScheduleCreateBody = Static<typeof ScheduleCreateBody>;
export type ScheduleTarget = ScheduleCreateBody['target'];

export const ScheduleUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    action: Type.Optional(ScheduleAction),
    target: Type.Optional(runOptions.target),
    concurrency: Type.Optional(Type.Union([runOptions.concurrency, Type.Null()])),
    failure_threshold: Type.Optional(Type.Union([runOptions.failure_threshold, Type.Null()])),
    deadline_seconds: Type.Optional(Type.Union([runOptions.deadline_seconds, Type.Null()])),
    cron: Type.Optional(Cron),
    timezone: Type.Optional(TimeZone),
    interval_seconds: Type.Optional(IntervalSeconds),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      '`cron` replaces an interval and `interval_seconds` a cron expression; a change of timing ' +
      'counts the next fire from now',
  },
);
export type ScheduleUpdateBody = Static<typeof ScheduleUpdateBody>;

export const ScheduleSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  action: ScheduleAction,
  target: TargetSchema,
  concurrency: Type.Union([Type.Integer(), Type.Null()]),
  failure_threshold: Type.Union([Type.Integer(), Type.Null()]),
  deadline_seconds: Type.Union([Type.Integer(), Type.Null()]),
  cron: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
  interval_seconds: Type.Union([Type.Integer(), Type.Null()]),
  next_fire_at: Type.Union([Timestamp, Type.Null()], { description: 'Null while disabled' }),
  last_fired_at: NullableTimestamp,
  last_run_id: Type.Union([Id, Type.Null()], { description: 'The run the last fire started' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last fire started nothing' }),
  created_by: Type.Union([Id, Type.Null()], { description: 'The member the schedule runs as' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ScheduleListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    enabled: Type.Optional(Type.Boolean()),
    kind: Type.Optional(
      Type.Union([Type.Literal('script'), Type.Literal('command'), Type.Literal('profile')]),
    ),
  }),
]);
