import { Type, type Static } from 'typebox';
import { OsType } from '../../../protocol/jobs.js';
import { Id, Name, NullableTimestamp, ShellText, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { TargetSchema } from '../execution/runs.schemas.js';
import { ParameterDefinition, ScriptKind } from '../scripts/scripts.schemas.js';

export const shellFamilies = ['bash', 'sh', 'powershell', 'cmd', 'python'] as const;
export const Shell = Type.Enum(shellFamilies);
export const safetyLevels = ['safe', 'caution', 'dangerous'] as const;
export const SafetyLevelSchema = Type.Enum(safetyLevels);

/**
 * What the model must answer, as JSON against this schema (sent as `response_format`). Kept to
 * plain JSON Schema keywords every OpenAI-compatible provider reads.
 */
export const ModelAnswer = Type.Object(
  {
    command: Type.String({ minLength: 1, maxLength: 20_000 }),
    explanation: Type.String({ maxLength: 8000 }),
    parameters: Type.Array(
      Type.Object(
        {
          name: Type.String({ maxLength: 64 }),
          value: Type.String({ maxLength: 1000 }),
          description: Type.String({ maxLength: 1000 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    ),
    safety: Type.Object(
      { level: SafetyLevelSchema, reasons: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 20 }) },
      { additionalProperties: false },
    ),
    estimated_duration_seconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type ModelAnswer = Static<typeof ModelAnswer>;

export const FindingSchema = Type.Object({
  rule: Type.String(),
  level: SafetyLevelSchema,
  reason: Type.String(),
});

export const SafetySchema = Type.Object({
  /** The stricter of the analyzer's and the model's: the model can raise it, never lower it. */
  level: SafetyLevelSchema,
  analyzer_level: SafetyLevelSchema,
  model_level: Type.Union([SafetyLevelSchema, Type.Null()]),
  findings: Type.Array(FindingSchema, { description: "The analyzer's named rules that matched" }),
  model_reasons: Type.Array(Type.String()),
  confirmation: Type.Enum(['none', 'confirm', 'confirm_dangerous'], {
    description:
      'What running it takes with `ai.safety_check` on: nothing, `confirm: true`, or `confirm: true` ' +
      'by a holder of `assistant:confirm_dangerous`',
  }),
});

export const ProposalSchema = Type.Object({
  command: Type.String(),
  shell: Shell,
  explanation: Type.String(),
  parameters: Type.Array(
    Type.Object({ name: Type.String(), value: Type.String(), description: Type.String() }),
  ),
  safety: SafetySchema,
  estimated_duration_seconds: Type.Union([Type.Integer(), Type.Null()]),
  model: Type.String(),
});
export type Proposal = Static<typeof ProposalSchema>;

export const GenerateBody = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 4000 }),
    agent_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    shell: Type.Optional(Shell),
    conversation_id: Type.Optional(Id),
    /** A job whose output (its end) is sent to the model to explain or fix. */
    job_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type GenerateBody = Static<typeof GenerateBody>;

export const GenerateReply = Type.Object({
  conversation_id: Id,
  message_id: Id,
  proposal: ProposalSchema,
});

export const ReviewBody = Type.Object(
  { command: ShellText({ minLength: 1, maxLength: 100_000 }), shell: Shell },
  { additionalProperties: false },
);

export const ReviewReply = Type.Object({
  /** The review's id, as its audit event names it. */
  id: Id,
  level: SafetyLevelSchema,
  findings: Type.Array(FindingSchema),
  confirmation: SafetySchema.properties.confirmation,
});

export const RunBody = Type.Object(
  {
    conversation_id: Id,
    message_id: Id,
    agent_id: Type.Optional(Id),
    target: Type.Optional(TargetSchema),
    confirm: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RunBody = Static<typeof RunBody>;

export const RunReply = Type.Object({
  message_id: Id,
  job_id: Type.Union([Id, Type.Null()]),
  run_id: Type.Union([Id, Type.Null()]),
  level: SafetyLevelSchema,
});

export const SaveBody = Type.Object(
  {
    conversation_id: Id,
    message_id: Id,
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    kind: Type.Optional(ScriptKind),
    parameters: Type.Optional(
      Type.Array(ParameterDefinition, {
        maxItems: 50,
        description:
          "Typed parameters; by default the model's assumed parameters as strings with their values as defaults",
      }),
    ),
  },
  { additionalProperties: false },
);
export type SaveBody = Static<typeof SaveBody>;

export const MessageSchema = Type.Object({
  id: Id,
  role: Type.Enum(['user', 'assistant']),
  content: Type.String(),
  proposal: Type.Union([ProposalSchema, Type.Null()]),
  job_id: Type.Union([Id, Type.Null()]),
  run_id: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
});
export type MessageView = Static<typeof MessageSchema>;

export const ConversationSchema = Type.Object({
  id: Id,
  title: Type.String(),
  shell: Shell,
  os_type: Type.Union([Type.String(), Type.Null()]),
  agent_id: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ConversationView = Static<typeof ConversationSchema>;

export const ConversationDetail = Type.Intersect([
  ConversationSchema,
  Type.Object({ messages: Type.Array(MessageSchema) }),
]);

export const ConversationListQuery = PageQuery;

export const StatusReply = Type.Object({
  enabled: Type.Boolean(),
  configured: Type.Boolean({ description: 'A provider URL and a model are set' }),
  reachable: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'How the last call from this node went; null before any',
  }),
  model: Type.String(),
  safety_check: Type.Boolean(),
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_called_at: NullableTimestamp,
  usage: Type.Object(
    { prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), requests: Type.Integer() },
    { description: "The caller's own usage over the last 30 days" },
  ),
});

export const TestReply = Type.Object({
  ok: Type.Boolean(),
  model: Type.String(),
  latency_ms: Type.Integer(),
});
