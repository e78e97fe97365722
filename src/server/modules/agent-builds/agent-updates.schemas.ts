import { Type, type Static } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { BuildSummary } from './agent-builds.js';

const Stage = Type.Union([Type.Literal('canary'), Type.Literal('all')], {
  description: 'canary: only agents of the canary group are offered updates; all: every agent',
});

export const UpdatePolicyBody = Type.Object(
  {
    paused: Type.Boolean({ description: 'While paused no agent is offered an update' }),
    stage: Stage,
    canary_group_id: Type.Union([Id, Type.Null()], {
      description: 'The agent group updated first; at the canary stage with none, no agent is offered one',
    }),
  },
  { additionalProperties: false },
);
export type UpdatePolicyBody = Static<typeof UpdatePolicyBody>;

export const UpdatePolicySchema = Type.Object({
  paused: Type.Boolean(),
  stage: Stage,
  canary_group_id: Type.Union([Type.String(), Type.Null()]),
  updated_at: NullableTimestamp,
});

export const UpdateStatusSchema = Type.Object({
  policy: UpdatePolicySchema,
  builds: Type.Array(BuildSummary),
  versions: Type.Array(Type.Object({ version: Type.String(), count: Type.Integer() }), {
    description: 'Live agents of the organisation by the version they last reported',
  }),
  agents: Type.Array(
    Type.Object({
      agent_id: Type.String(),
      hostname: Type.String(),
      version: Type.String(),
      os: Type.String(),
      arch: Type.String(),
      offered_version: Type.Union([Type.String(), Type.Null()]),
      outcome: Type.Union([
        Type.Literal('offered'),
        Type.Literal('swapped'),
        Type.Literal('updated'),
        Type.Literal('failed'),
        Type.Null(),
      ]),
      reason: Type.Union([Type.String(), Type.Null()]),
      updated_at: Timestamp,
    }),
    {
      description:
        'Agents offered an update, latest first: offered, swapped (restarting), updated, or failed with why',
    },
  ),
});
export type UpdateStatus = Static<typeof UpdateStatusSchema>;
