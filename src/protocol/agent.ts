import { Type, type Static } from 'typebox';
import { Interpreter, OsType } from './jobs.js';
import { OutputText } from './text.js';

/**
 * The agent wire protocol: the same frames travel over the WebSocket and, batched, over the
 * HTTP fallback. Every frame has a `type`; every switch over frames is exhaustive.
 */

export const AgentFacts = Type.Object({
  hostname: Type.String({ maxLength: 255 }),
  fingerprint: Type.String({ minLength: 8, maxLength: 128 }),
  os_type: OsType,
  os_version: Type.String({ maxLength: 200 }),
  arch: Type.String({ maxLength: 50 }),
  ip: Type.Optional(Type.String({ maxLength: 100 })),
  agent_version: Type.String({ maxLength: 50 }),
  interpreters: Type.Array(Interpreter, { maxItems: 10 }),
  system_info: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** The agent runs as a single-file executable and can replace itself: the server may offer it updates. */
  self_update: Type.Optional(Type.Boolean()),
});
export type AgentFacts = Static<typeof AgentFacts>;

export const AgentMetrics = Type.Object({
  cpu_percent: Type.Number({ minimum: 0, maximum: 100 }),
  memory_percent: Type.Number({ minimum: 0, maximum: 100 }),
  disk_percent: Type.Number({ minimum: 0, maximum: 100 }),
  uptime_seconds: Type.Number({ minimum: 0 }),
});
export type AgentMetrics = Static<typeof AgentMetrics>;

/** Registration: an enrollment token or a machine key buys an agent token, shown once. */
export const RegisterRequest = Type.Object({
  enrollment_token: Type.Optional(Type.String({ maxLength: 200 })),
  machine_key: Type.Optional(Type.String({ maxLength: 200 })),
  facts: AgentFacts,
});
export type RegisterRequest = Static<typeof RegisterRequest>;

export const RegisterResponse = Type.Object({
  agent_id: Type.String(),
  agent_token: Type.String(),
  heartbeat_interval_ms: Type.Integer(),
  /** The server's Ed25519 public key (SPKI DER, base64) that signs agent builds; the agent keeps the first it sees. */
  update_public_key: Type.Optional(Type.String()),
});
export type RegisterResponse = Static<typeof RegisterResponse>;

/** The largest JSON result a process may hand back (its output file). */
export const PROCESS_RESULT_MAX_BYTES = 1024 * 1024;

/**
 * What a process job runs: an entry point of a package the agent fetches by its hash
 * (`GET /api/v1/agent/packages/{hash}`), checks and unpacks. The input JSON reaches the process on
 * stdin and in the file `FP_INPUT_FILE`; the JSON it writes to `FP_OUTPUT_FILE` is its result. The
 * assets its process declares are opened here only, in the file `FP_ASSETS_FILE`.
 */
export const ProcessSpec = Type.Object({
  package_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  entry_point: Type.String(),
  input: Type.Unknown(),
  robot_id: Type.String(),
  robot_name: Type.String(),
  /** The OS user the robot's credential names; the agent refuses the job when it cannot become it. */
  run_as_user: Type.Union([Type.String(), Type.Null()]),
  assets: Type.Record(Type.String(), Type.Unknown()),
});
export type ProcessSpec = Static<typeof ProcessSpec>;

/** What the agent runs. `attempt` tells deliveries of the same job apart. */
export const JobSpec = Type.Object({
  job_id: Type.String(),
  attempt: Type.Integer({ minimum: 1 }),
  kind: Type.Union([Type.Literal('exec'), Type.Literal('agent_uninstall'), Type.Literal('process')]),
  /** For a process job: the package's entry point to run, with `interpreter` its language. */
  process: Type.Optional(ProcessSpec),
  interpreter: Interpreter,
  command: Type.String(),
  env: Type.Record(Type.String(), Type.String()),
  cwd: Type.Union([Type.String(), Type.Null()]),
  timeout_seconds: Type.Integer({ minimum: 1 }),
});
export type JobSpec = Static<typeof JobSpec>;

export const JobResultStatus = Type.Union([
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('timed_out'),
  Type.Literal('canceled'),
]);

/** Agent → server, about one job. */
export const JobEvent = Type.Union([
  Type.Object({ type: Type.Literal('ack'), job_id: Type.String(), attempt: Type.Integer() }),
  Type.Object({
    type: Type.Literal('output'),
    job_id: Type.String(),
    attempt: Type.Integer(),
    seq: Type.Integer({ minimum: 0 }),
    stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
    data: OutputText({ maxLength: 65_536 }),
  }),
  Type.Object({
    type: Type.Literal('result'),
    job_id: Type.String(),
    attempt: Type.Integer(),
    status: JobResultStatus,
    /** Windows reports NTSTATUS codes unsigned (0xC0000005 is 3221225477): the server keeps them signed. */
    exit_code: Type.Union([Type.Integer({ minimum: -2_147_483_648, maximum: 4_294_967_295 }), Type.Null()]),
    duration_ms: Type.Integer({ minimum: 0 }),
    /** The agent's account of a failure, often the program's own words: kept like output. */
    error: Type.Optional(OutputText({ maxLength: 4096 })),
    /** A process job's JSON result, as the process wrote it. */
    output: Type.Optional(Type.Unknown()),
  }),
]);
export type JobEvent = Static<typeof JobEvent>;

/**
 * What the server made of one event, the same over both transports:
 * - `applied`: stored now;
 * - `duplicate`: nothing changed, the server had it already (a repeated result, a replayed output
 *   chunk) or the job has moved past it (an acknowledgement of a job already running);
 * - `conflict`: it contradicts what the server holds (the job already ended otherwise);
 * - `impossible`: it can never apply (not this agent's job, a delivery never made).
 * Whatever the outcome, the agent forgets the event: a result the server refused would be refused
 * again, so resending it forever helps nobody; the agent logs the refusal instead.
 */
export const EventOutcome = Type.Union([
  Type.Literal('applied'),
  Type.Literal('duplicate'),
  Type.Literal('conflict'),
  Type.Literal('impossible'),
]);
export type EventOutcome = Static<typeof EventOutcome>;

/** The server's answer about one event: over the WebSocket an `event_ack` frame, over HTTP one item of the reply. */
export const EventAck = Type.Object({
  job_id: Type.String(),
  attempt: Type.Integer(),
  event: Type.Union([Type.Literal('ack'), Type.Literal('output'), Type.Literal('result')]),
  seq: Type.Optional(Type.Integer()),
  outcome: EventOutcome,
  /** Why a conflicting or impossible event was refused. */
  message: Type.Optional(Type.String()),
});
export type EventAck = Static<typeof EventAck>;

/**
 * WebSocket close codes the server ends an agent's session with. The agent reconnects after all
 * but the two final ones: 4410 (deleted: it uninstalls itself and exits 0, as on a 410) and 4401
 * (its token was replaced by a new registration or is no longer valid: it exits 1, as on a 401).
 */
export const AgentCloseCode = {
  /** The node is shutting down: reconnect, to another node or to this one once it is back. */
  goingAway: 1001,
  /** The node cannot serve the session now (its database is unreachable): reconnect later. */
  tryAgainLater: 1013,
  /** Another connection of the same agent took its place on this node. */
  replaced: 4000,
  unauthorized: 4401,
  deleted: 4410,
} as const;
export type AgentCloseCode = (typeof AgentCloseCode)[keyof typeof AgentCloseCode];

/**
 * A newer single-file agent for the agent's platform. `signature` is the server's Ed25519
 * signature (base64) of `updateSigningText(...)`; the agent checks it with the key it kept.
 */
export const UpdateOffer = Type.Object({
  version: Type.String({ maxLength: 50 }),
  os: Type.String({ maxLength: 20 }),
  arch: Type.String({ maxLength: 20 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  size: Type.Integer({ minimum: 1 }),
  signature: Type.String({ maxLength: 200 }),
  download_path: Type.String({ maxLength: 200 }),
});
export type UpdateOffer = Static<typeof UpdateOffer>;

/** What the signature covers: one line per field, so no field can bleed into another. */
export function updateSigningText(build: Pick<UpdateOffer, 'version' | 'os' | 'arch' | 'sha256'>): string {
  return `fleetplane-agent-build\n${build.version}\n${build.os}\n${build.arch}\n${build.sha256}`;
}

/** The agent's account of an offered update: ok once swapped, else why it kept its version. */
export const UpdateResult = Type.Object({
  version: Type.String({ maxLength: 50 }),
  /** The offered build's; a result about another build changes nothing. */
  sha256: Type.String({ maxLength: 64 }),
  ok: Type.Boolean(),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
});
export type UpdateResult = Static<typeof UpdateResult>;

/** Agent → server over the WebSocket. */
export const AgentFrame = Type.Union([
  Type.Object({ type: Type.Literal('hello'), facts: AgentFacts, running_job_ids: Type.Array(Type.String()) }),
  Type.Object({ type: Type.Literal('heartbeat'), metrics: AgentMetrics }),
  Type.Object({ type: Type.Literal('job_event'), event: JobEvent }),
  Type.Object({ type: Type.Literal('update_result'), ...UpdateResult.properties }),
  /** Facts collected again because the server asked (`refresh_facts`); applied as hello's are. */
  Type.Object({ type: Type.Literal('facts'), facts: AgentFacts }),
]);
export type AgentFrame = Static<typeof AgentFrame>;

/** Server → agent over the WebSocket. */
export const ServerFrame = Type.Union([
  Type.Object({
    type: Type.Literal('welcome'),
    agent_id: Type.String(),
    heartbeat_interval_ms: Type.Integer(),
    update_public_key: Type.Optional(Type.String()),
  }),
  Type.Object({ type: Type.Literal('job'), job: JobSpec }),
  Type.Object({ type: Type.Literal('cancel'), job_id: Type.String() }),
  /**
   * Sent for every result (the agent keeps results on disk until then) and for every refused
   * event; an applied or duplicate acknowledgement or output chunk needs no answer.
   */
  Type.Object({ type: Type.Literal('event_ack'), ...EventAck.properties }),
  Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() }),
  Type.Object({ type: Type.Literal('update'), ...UpdateOffer.properties }),
  /** An operator asked for the agent's facts now: it collects them again and sends a `facts` frame. */
  Type.Object({ type: Type.Literal('refresh_facts') }),
]);
export type ServerFrame = Static<typeof ServerFrame>;

/** HTTP fallback: one heartbeat carries metrics and returns the jobs waiting and the cancels due. */
export const HeartbeatRequest = Type.Object({
  metrics: AgentMetrics,
  facts: Type.Optional(AgentFacts),
  running_job_ids: Type.Array(Type.String(), { maxItems: 1000 }),
  update_result: Type.Optional(UpdateResult),
});
export type HeartbeatRequest = Static<typeof HeartbeatRequest>;

export const HeartbeatResponse = Type.Object({
  jobs: Type.Array(JobSpec),
  cancel_job_ids: Type.Array(Type.String()),
  heartbeat_interval_ms: Type.Integer(),
  update: Type.Optional(UpdateOffer),
  /** Collect the facts again and send them with the next heartbeat (which then follows at once). */
  refresh_facts: Type.Optional(Type.Boolean()),
});
export type HeartbeatResponse = Static<typeof HeartbeatResponse>;

export const JobEventsRequest = Type.Object({ events: Type.Array(JobEvent, { minItems: 1, maxItems: 500 }) });
export type JobEventsRequest = Static<typeof JobEventsRequest>;

/** One answer per event, in the order sent: a refused event does not stop the ones after it. */
export const JobEventsResponse = Type.Object({ acks: Type.Array(EventAck) });
export type JobEventsResponse = Static<typeof JobEventsResponse>;

/**
 * The longest an agent waits between two attempts to reach the server (its backoff's cap): a
 * server that starts gives every live job lease at least this much more, so agents that were
 * waiting to reconnect are not taken for gone.
 */
export const AGENT_RECONNECT_MAX_MS = 30_000;
