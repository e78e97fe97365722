import { Type } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

const EnvValues = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }),
  Type.String({ maxLength: 32_768 }),
  {
    maxProperties: 100,
  },
);

export const Origin = Type.String({
  pattern: '^[a-z0-9][a-z0-9_.-]{0,39}$',
  description: 'Where the deployment came from: github, gitlab, console, …',
});

export const DeploymentCreateBody = Type.Object(
  {
    service_id: Type.Optional(Id),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'The service by name' })),
    env: Type.Optional(EnvValues),
    secret_env: Type.Optional(EnvValues),
    origin: Type.Optional(Origin),
  },
  { additionalProperties: false },
);

export const DeploymentStatus = Type.Union([
  Type.Literal('running'),
  Type.Literal('paused'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);

export const DeploymentListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    service_id: Type.Optional(Id),
    status: Type.Optional(DeploymentStatus),
    origin: Type.Optional(Origin),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
  }),
]);

const TargetStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
]);
const StepState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('success'),
  Type.Literal('failure'),
]);
const Counts = Type.Record(Type.String(), Type.Integer());

export const StepSchema = Type.Object({
  target_id: Id,
  position: Type.Integer(),
  name: Type.String(),
  state: StepState,
  message: Type.String(),
  error_message: Type.Union([Type.String(), Type.Null()]),
  started_at: NullableTimestamp,
  finished_at: NullableTimestamp,
  /** Null for a planned step not reported yet. */
  updated_at: NullableTimestamp,
});

export const TargetSchema = Type.Object({
  id: Id,
  deployment_id: Id,
  agent_id: Id,
  agent_name: Type.String(),
  batch: Type.Integer(),
  status: TargetStatus,
  job_id: Type.Union([Id, Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  reported_status: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Null()]),
  config: Type.Unknown(),
  started_at: NullableTimestamp,
  finished_at: NullableTimestamp,
  updated_at: Timestamp,
});

const deploymentFields = {
  id: Id,
  service_id: Id,
  service_name: Type.String(),
  status: DeploymentStatus,
  origin: Type.String(),
  started_by_type: Type.String(),
  started_by_id: Type.Union([Type.String(), Type.Null()]),
  started_by_label: Type.Union([Type.String(), Type.Null()]),
  env: Type.Record(Type.String(), Type.String()),
  secret_env: Type.Record(Type.String(), Type.String()),
  config: Type.Unknown(),
  error: Type.Union([Type.String(), Type.Null()]),
  batch_count: Type.Integer(),
  current_batch: Type.Integer(),
  next_batch_at: NullableTimestamp,
  awaiting_continue: Type.Boolean(),
  steps_planned: Type.Array(Type.String()),
  runs_on: Type.Unknown(),
  rollout: Type.Unknown(),
  counts: Counts,
  batches: Type.Array(
    Type.Object({
      index: Type.Integer(),
      size: Type.Integer(),
      status: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('done')]),
      counts: Counts,
    }),
  ),
  created_at: Timestamp,
  updated_at: Timestamp,
  finished_at: NullableTimestamp,
};

export const DeploymentSchema = Type.Object(deploymentFields);

export const DeploymentDetailSchema = Type.Object({
  ...deploymentFields,
  targets: Type.Array(Type.Object({ ...TargetSchema.properties, steps: Type.Array(StepSchema) }), {
    description: 'The first 100 machines in rollout order; GET …/targets pages through all of them',
  }),
});

export const TargetParams = Type.Object({ id: Id, targetId: Id });

export const TargetWithStepsSchema = Type.Object({
  ...TargetSchema.properties,
  steps: Type.Array(StepSchema),
});

export const TargetListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    batch: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    status: Type.Optional(TargetStatus),
  }),
]);

export const TargetOutputSchema = Type.Object({
  target: TargetSchema,
  chunks: Type.Array(
    Type.Object({ seq: Type.Integer(), stream: Type.String(), data: Type.String(), created_at: Timestamp }),
  ),
});

export const StepReportBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    state: StepState,
    message: Type.Optional(Type.String({ maxLength: 4000 })),
    error_message: Type.Optional(Type.String({ maxLength: 4000 })),
    deployment_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const FinishBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    message: Type.Optional(Type.String({ maxLength: 4000 })),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 100 })),
    deployment_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const DeployedServiceSchema = Type.Object({
  service_id: Id,
  service_name: Type.String(),
  deployment_id: Id,
  config: Type.Unknown(),
  deployed_at: Timestamp,
});
