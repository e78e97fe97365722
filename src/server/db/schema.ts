/**
 * Table types. Times are ISO 8601 UTC text and JSON is text on every dialect, so one query
 * layer serves SQLite and PostgreSQL alike; flags are 0/1 integers for the same reason.
 */
import type { JobStatus, RunStatus } from '../../protocol/jobs.js';

export interface OrgsTable {
  id: string;
  name: string;
  is_primary: number;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

export interface RolesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** JSON array of "artifact:action"; ignored for built-in roles, whose permissions come from code. */
  permissions: string;
  builtin: number;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  created_at: string;
}

export interface MemberRolesTable {
  org_id: string;
  user_id: string;
  role_id: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  org_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface PasswordResetsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface InvitesTable {
  id: string;
  org_id: string;
  email: string;
  role_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  role_id: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface AuditEventsTable {
  id: string;
  org_id: string | null;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  before_json: string | null;
  after_json: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  created_at: string;
}

export interface SettingsTable {
  org_id: string;
  group_name: string;
  key: string;
  value: string;
  encrypted: number;
  updated_at: string;
  updated_by: string | null;
}

export interface AgentGroupsTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** A profile applied to each agent that enrolls into the group for the first time. */
  auto_profile_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface EnrollmentTokensTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  token_hash: string;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  /** JSON array of tags given to agents enrolled with this token. */
  default_tags: string;
  group_id: string | null;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface AgentsTable {
  id: string;
  org_id: string;
  name: string;
  hostname: string;
  /** Stable machine identity reported by the agent; re-registering it never duplicates the agent. */
  fingerprint: string | null;
  os_type: string;
  os_version: string;
  arch: string;
  ip: string | null;
  agent_version: string | null;
  /** JSON array of interpreters the agent found (bash, sh, python, pwsh, powershell, cmd). */
  interpreters: string;
  tags: string;
  group_id: string | null;
  notes: string;
  /** pending (machine record never connected) | online | offline */
  status: string;
  connected: number;
  last_seen_at: string | null;
  metrics: string | null;
  system_info: string | null;
  token_hash: string | null;
  machine_key_hash: string | null;
  enrolled_via: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  delete_reason: string | null;
  /** The deployment profile assigned to the agent. */
  profile_id: string | null;
  /** An operator asked for fresh facts and they have not arrived since. */
  facts_requested_at: string | null;
}

export interface RunsTable {
  id: string;
  org_id: string;
  name: string;
  /** What started it: command | script | profile | schedule. */
  source: string;
  /** JSON target selector as given. */
  target: string;
  /** JSON of what each job runs. */
  spec: string;
  concurrency: number;
  failure_threshold: number | null;
  /** Moves only as `runTransitions` allows; a CHECK (a trigger on SQLite) refuses other values. */
  status: RunStatus;
  deadline_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface JobsTable {
  id: string;
  org_id: string;
  /** Null while a pooled job waits for an agent of its pool to claim it. */
  agent_id: string | null;
  /** JSON PoolSelector of a pooled job (any one agent matching it runs it); null for one agent's job. */
  pool: string | null;
  run_id: string | null;
  /** exec | agent_uninstall */
  kind: string;
  interpreter: string;
  command: string;
  script_id: string | null;
  script_version: number | null;
  /** JSON object; values under secret-looking names sealed. */
  env: string;
  /** JSON object of sealed values, merged into `env` only in the spec an agent claims. */
  secret_env: string;
  cwd: string | null;
  run_as: string | null;
  timeout_seconds: number;
  /** Moves only as `jobTransitions` allows; a CHECK (a trigger on SQLite) refuses other values. */
  status: JobStatus;
  /** 0 while a run holds the job back for its concurrency limit. */
  admitted: number;
  attempt: number;
  max_attempts: number;
  lease_expires_at: string | null;
  cancel_requested_at: string | null;
  deadline_at: string | null;
  dispatched_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  error: string | null;
  output_bytes: number;
  output_cap_bytes: number;
  output_truncated: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  /** In a profile run: the task's place in the profile (0 first) and its name. */
  task_index: number | null;
  task_name: string | null;
  /** The robot running a process job (set when one of its pool claims a pooled one). */
  robot_id: string | null;
  process_id: string | null;
  /** A process job's JSON ProcessRun: what it ran (process and package versions, entry point, input). */
  process: string | null;
  /** A process job's JSON result, as the process wrote it. */
  result: string | null;
  /** The deployment whose script this job runs on one of its targets. */
  deployment_id: string | null;
}

export interface JobOutputTable {
  job_id: string;
  attempt: number;
  seq: number;
  stream: string;
  data: string;
  created_at: string;
}

export interface ScriptsTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** script | command (a one-line saved command for quick use in the console). */
  kind: string;
  language: string;
  content: string;
  target_os_type: string | null;
  /** JSON array of parameter definitions. */
  parameters: string;
  /** JSON array. */
  tags: string;
  timeout_seconds: number | null;
  /** How many times its jobs may start; the jobs settings' default when null. Not versioned: it is how, not what, a script runs. */
  max_attempts: number | null;
  /** The current version: the highest in script_versions. */
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScriptVersionsTable {
  id: string;
  script_id: string;
  version: number;
  content: string;
  language: string;
  /** JSON array of parameter definitions, as they were. */
  parameters: string;
  created_by: string | null;
  created_at: string;
}

export interface ProfilesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  target_os_type: string | null;
  /** 1 for a template: listed at /templates, never applied, copied into profiles. */
  is_template: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProfileTasksTable {
  id: string;
  profile_id: string;
  /** 0 first; a profile's tasks run in this order. */
  position: number;
  name: string;
  description: string;
  /** script | command | reboot | file_copy */
  action: string;
  script_id: string | null;
  /** The command (action `command`) or the file's text (action `file_copy`). */
  content: string | null;
  interpreter: string | null;
  /** JSON object of script parameter values. */
  parameters: string;
  /** JSON object of sealed values (script and command tasks). */
  secret_env: string;
  source_url: string | null;
  destination: string | null;
  continue_on_error: number;
  timeout_seconds: number | null;
  /** How many times the task's job may start; a script task's script, else the jobs settings, decide when null. */
  max_attempts: number | null;
  created_at: string;
  updated_at: string;
}

export interface SchedulesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  enabled: number;
  /** script | command | profile */
  action_kind: string;
  script_id: string | null;
  profile_id: string | null;
  /** JSON object of script parameter values. */
  parameters: string;
  /** JSON object of sealed values (script and command actions). */
  secret_env: string;
  /** Each job's timeout, for a script or command; the script's own when null. */
  timeout_seconds: number | null;
  /** JSON target selector, as for runs. */
  target: string;
  concurrency: number | null;
  failure_threshold: number | null;
  deadline_seconds: number | null;
  /** A cron expression read in `timezone`; or else `interval_seconds`. */
  cron: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  /** Null while disabled. */
  next_fire_at: string | null;
  last_fired_at: string | null;
  last_run_id: string | null;
  last_error: string | null;
  /** The member the schedule runs as. */
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface RobotsTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** agent (lives on one of our agents) | runner (registers through the runner API) */
  kind: string;
  agent_id: string | null;
  /** JSON array of pool names. */
  pools: string;
  credential_asset_id: string | null;
  /** online | offline | busy */
  status: string;
  current_job_id: string | null;
  last_heartbeat_at: string | null;
  /** A runner's one-time machine key, until it registers. */
  machine_key_hash: string | null;
  token_prefix: string | null;
  token_hash: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AssetsTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** text | integer | boolean | secret | credential */
  type: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AssetValuesTable {
  id: string;
  asset_id: string;
  /** Null: the asset's global value. */
  robot_id: string | null;
  /** Sealed (SecretBox) JSON of the typed value, whatever the type. */
  value: string;
  updated_by: string | null;
  updated_at: string;
}

export interface SdkDevicesTable {
  id: string;
  device_code_hash: string;
  /** Eight characters, stored without the dash. */
  user_code: string;
  client_name: string;
  /** pending | confirmed | denied | consumed */
  status: string;
  interval_seconds: number;
  last_polled_at: string | null;
  /** Set when confirmed: whom the token will act for. */
  org_id: string | null;
  user_id: string | null;
  ip: string | null;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
}

export interface SdkTokensTable {
  id: string;
  org_id: string;
  user_id: string;
  client_name: string;
  prefix: string;
  token_hash: string;
  /** Space-separated permissions the token may use, of those its user holds. */
  scope: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface BlobsTable {
  /** Hex SHA-256 of the content. */
  hash: string;
  /** Bytes; bigint columns read back as strings on PostgreSQL, so the repo converts. */
  size: number | string;
  created_at: string;
}

export interface BlobChunksTable {
  /** The blob's hash, or a temporary key while it is written. */
  hash: string;
  /** 0 first. */
  seq: number;
  data: Buffer;
}

export interface PackagesTable {
  id: string;
  org_id: string;
  name: string;
  /** Semantic version, unique per name in the organisation. */
  version: string;
  description: string;
  /** Hex SHA-256 of the zip: its blob, shared with every package of the same content. */
  hash: string;
  /** Bytes of the zip; bigint, read back as a string on PostgreSQL. */
  size: number | string;
  /** JSON: the manifest (fleetplane.json) as uploaded. */
  manifest: string;
  /** JSON array of entry points, from the manifest. */
  entry_points: string;
  active: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface QueuesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  max_retries: number;
  deadline_minutes: number | null;
  sla_minutes: number | null;
  unique_references: number;
  /** 0: the queue refuses new items and claims. */
  active: number;
  item_timeout_seconds: number;
  trigger_process_id: string | null;
  trigger_max_jobs: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface QueueItemsTable {
  id: string;
  org_id: string;
  queue_id: string;
  /** new | in_progress | successful | failed | abandoned | retried | deleted */
  status: string;
  /** 0 high, 1 normal, 2 low: the claim order. */
  priority: number;
  /** JSON object. */
  content: string;
  reference: string | null;
  reference_unique: number;
  progress: string | null;
  /** JSON, set on success. */
  output: string | null;
  error_type: string | null;
  error_reason: string | null;
  robot_id: string | null;
  retry_of: string | null;
  retry_number: number;
  defer_until: string | null;
  deadline: string | null;
  sla_due_at: string | null;
  abandon_at: string | null;
  started_at: string | null;
  /** Epoch ms; bigint, read back as a string on PostgreSQL. */
  started_ms: number | string | null;
  processing_ms: number | string | null;
  finished_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProcessesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  package_name: string;
  /** A semver version; null runs the package's latest active version. */
  package_version: string | null;
  /** The package row a pinned version resolved to when saved (null for latest active): what deleting a package asks about. */
  package_id: string | null;
  entry_point: string;
  /** JSON object. */
  default_input: string;
  timeout_seconds: number;
  max_attempts: number;
  retry_delay_seconds: number;
  /** The robot pool whose robots may run it; null: any robot of the organisation. */
  robot_pool: string | null;
  /** JSON array of credential asset names. */
  assets: string;
  /** The current version: the highest in process_versions. */
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProcessVersionsTable {
  id: string;
  process_id: string;
  version: number;
  package_name: string;
  package_version: string | null;
  entry_point: string;
  /** JSON object, as it was. */
  default_input: string;
  timeout_seconds: number;
  max_attempts: number;
  retry_delay_seconds: number;
  robot_pool: string | null;
  /** JSON array, as it was. */
  assets: string;
  created_by: string | null;
  created_at: string;
}

export interface ServicesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** The deploy script's interpreter (bash, sh, powershell, python, …). */
  interpreter: string;
  script: string;
  /** JSON array of the planned step names, in order. */
  steps: string;
  /** JSON ServiceRunsOn: `{type:"server"}`, `{type:"agent",agent_id}` or `{type:"selector",selector}`. */
  runs_on: string;
  /** JSON RolloutPolicy (batches, canary, pause, failure budget). */
  rollout: string;
  /** JSON object of default environment values; values under secret-looking names sealed. */
  env: string;
  /** JSON object of sealed values. */
  secret_env: string;
  /** JSON Schema of the config a deployment publishes; null when it publishes none. */
  config_schema: string | null;
  timeout_seconds: number;
  /** api | directory */
  source: string;
  /** The services directory folder it was synced from. */
  folder: string | null;
  /** SHA-256 of the folder's definition and script as last synced: a sync leaves it alone when equal. */
  content_hash: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeployTokensTable {
  id: string;
  org_id: string;
  /** service (starts and reads one service's deployments) | config (reads deployed services) */
  kind: string;
  service_id: string | null;
  /** Where it is used: github, gitlab, … */
  origin: string;
  prefix: string;
  token_hash: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface DeploymentsTable {
  id: string;
  org_id: string;
  service_id: string;
  service_name: string;
  /** running | paused | succeeded | failed | canceled */
  status: string;
  origin: string;
  /** The actor type that started it: user, api_key, service_token, … */
  started_by_type: string;
  started_by_id: string | null;
  started_by_label: string | null;
  /** JSON DeploymentSpec: the service as it was when started (script, steps, rollout, timeout). */
  spec: string;
  /** JSON array of the planned step names: what each machine's steps are before any is reported. */
  planned_steps: string;
  /** JSON object: the service's default env with the context given; secret-looking values sealed. */
  env: string;
  /** JSON object of sealed values. */
  secret_env: string;
  /** JSON of the config published, checked against the service's schema. */
  config: string | null;
  error: string | null;
  batch_count: number;
  /** The batch running or last run (0 first). */
  current_batch: number;
  /** When a paused rollout starts its next batch; null when it waits for a manual continue. */
  next_batch_at: string | null;
  awaiting_continue: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface DeploymentTargetsTable {
  id: string;
  org_id: string;
  deployment_id: string;
  agent_id: string;
  agent_name: string;
  batch: number;
  /** pending | running | succeeded | failed | canceled */
  status: string;
  job_id: string | null;
  error: string | null;
  /** What its script said when it finished (success | failure); its job's end decides the rest. */
  reported_status: string | null;
  /** JSON config this machine's script published. */
  config: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface DeploymentStepsTable {
  id: string;
  deployment_id: string;
  target_id: string;
  position: number;
  name: string;
  /** pending | running | success | failure */
  state: string;
  message: string;
  error_message: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** A heartbeat's metrics as heard (kept raw_retention_hours). */
export interface MetricPointsTable {
  agent_id: string;
  org_id: string;
  at: string;
  cpu: number;
  memory: number;
  disk: number;
  uptime: number;
  /** JSON object of the numeric keys beyond the four known ones; null when none. */
  extra: string | null;
}

/** One agent's metrics over a bucket (a minute or an hour): sums and maxima over `samples` points. */
export interface AgentMetricBucketsTable {
  agent_id: string;
  org_id: string;
  /** The bucket's start, ISO 8601 UTC. */
  bucket: string;
  samples: number;
  cpu_sum: number;
  cpu_max: number;
  memory_sum: number;
  memory_max: number;
  disk_sum: number;
  disk_max: number;
  uptime_max: number;
}

/** An organisation's fleet over a bucket: its agents' buckets summed, with the agent-minutes heard. */
export interface FleetMetricBucketsTable extends Omit<AgentMetricBucketsTable, 'agent_id'> {
  agent_minutes: number;
}

/** Jobs or runs of an organisation that ended in a bucket, by outcome. */
export interface FleetOutcomeBucketsTable {
  org_id: string;
  bucket: string;
  /** job | run */
  kind: string;
  outcome: string;
  count: number;
}

/** Where each rollup step stands: buckets before its watermark are done. */
export interface MetricRollupsTable {
  /** minute | hour */
  step: string;
  watermark: string;
}

export interface NodeLeasesTable {
  /** The kind of work: alerts, housekeeping, … */
  name: string;
  /** The node holding it (an id each node draws at start). */
  holder: string;
  expires_at: string;
}

export interface WebhooksTable {
  id: string;
  org_id: string;
  url: string;
  description: string;
  /** JSON array of event names and patterns (`job.*`, `*`). */
  events: string;
  /** 0 | 1 */
  enabled: number;
  /** active | paused */
  status: string;
  /** The signing secret, sealed. */
  secret: string;
  consecutive_failures: number;
  paused_at: string | null;
  paused_reason: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  org_id: string;
  webhook_id: string;
  event: string;
  /** Unique per subscription when set: an event announced twice is delivered once. */
  event_key: string | null;
  body: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  /** When pending: when it is due, or when the lease of the node sending it lapses. */
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  response_excerpt: string;
  duration_ms: number;
  error: string | null;
  created_at: string;
}

export interface NotificationChannelsTable {
  id: string;
  org_id: string;
  name: string;
  /** webhook | slack | teams | email */
  kind: string;
  /** JSON: `{url}` (sealed) for webhook, slack and teams; `{to: [addresses]}` for email. */
  config: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertRulesTable {
  id: string;
  org_id: string;
  name: string;
  enabled: number;
  /** info | warning | critical */
  severity: string;
  /** agent_offline | metric_above | job_failed | run_failure_rate | deployment_failed | queue_backlog */
  kind: string;
  /** JSON: the kind's parameters. */
  params: string;
  /** JSON array of notification channel ids. */
  channel_ids: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertsTable {
  id: string;
  org_id: string;
  rule_id: string;
  /** What is in trouble: `agent:<id>`, `script:<id>`, `queue:<id>`, `runs`, … */
  subject: string;
  subject_label: string;
  /** firing | acknowledged | resolved */
  state: string;
  severity: string;
  summary: string;
  fired_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  /** When its channels were told it fired; null while held by a silence (or never told). */
  notified_at: string | null;
  resolved_at: string | null;
  updated_at: string;
}

export interface AlertEventsTable {
  id: string;
  alert_id: string;
  at: string;
  /** fired | acknowledged | notified | notify_failed | silenced | resolved */
  kind: string;
  actor: string | null;
  /** JSON object. */
  detail: string;
}

export interface AlertConditionsTable {
  rule_id: string;
  subject: string;
  /** Since when the condition has held, for rules that fire only after it held for some minutes. */
  since: string;
}

export interface SilencesTable {
  id: string;
  org_id: string;
  rule_id: string | null;
  /** JSON agent selector, or null for every subject of the rule. */
  selector: string | null;
  reason: string;
  starts_at: string;
  ends_at: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface HousekeepingRunsTable {
  id: string;
  /** schedule | manual */
  trigger: string;
  /** The member who asked for a manual run. */
  requested_by: string | null;
  /** The server node that ran it (its node-lease holder id). */
  node: string;
  /** running | succeeded | failed */
  status: string;
  /** JSON object: rows deleted, by kind. */
  counts: string;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface AssistantConversationsTable {
  id: string;
  org_id: string;
  user_id: string;
  title: string;
  os_type: string | null;
  shell: string;
  agent_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface AssistantMessagesTable {
  id: string;
  conversation_id: string;
  /** `user` (a request) or `assistant` (a proposal). */
  role: string;
  content: string;
  /** JSON of the proposal an assistant message carries. */
  proposal: string | null;
  job_id: string | null;
  run_id: string | null;
  created_at: string;
}

/** The instance's Ed25519 key pair that signs agent builds; one row. */
export interface AgentUpdateKeysTable {
  id: string;
  /** SPKI DER, base64. */
  public_key: string;
  /** PKCS#8 DER, base64, sealed. */
  private_key: string;
  created_at: string;
}

export interface AgentUpdatePoliciesTable {
  org_id: string;
  /** 0 | 1 */
  paused: number;
  /** canary | all */
  stage: string;
  canary_group_id: string | null;
  updated_at: string;
}

export interface AgentUpdateStatesTable {
  agent_id: string;
  org_id: string;
  /** The build platform's OS: linux | darwin | windows (or what the agent reported). */
  os: string;
  /** 0 | 1: a single-file agent, which can replace itself. */
  self_update: number;
  offered_version: string | null;
  offered_sha256: string | null;
  offered_at: string | null;
  /** offered | swapped | updated | failed, or null before any offer. */
  outcome: string | null;
  reason: string | null;
  failed_sha256: string | null;
  updated_at: string;
}

export interface AssistantUsageTable {
  id: string;
  org_id: string;
  user_id: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  created_at: string;
}

export interface DB {
  orgs: OrgsTable;
  users: UsersTable;
  roles: RolesTable;
  memberships: MembershipsTable;
  member_roles: MemberRolesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  password_resets: PasswordResetsTable;
  invites: InvitesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
  agent_groups: AgentGroupsTable;
  enrollment_tokens: EnrollmentTokensTable;
  agents: AgentsTable;
  runs: RunsTable;
  jobs: JobsTable;
  job_output: JobOutputTable;
  scripts: ScriptsTable;
  script_versions: ScriptVersionsTable;
  profiles: ProfilesTable;
  profile_tasks: ProfileTasksTable;
  schedules: SchedulesTable;
  blobs: BlobsTable;
  blob_chunks: BlobChunksTable;
  packages: PackagesTable;
  robots: RobotsTable;
  assets: AssetsTable;
  asset_values: AssetValuesTable;
  sdk_devices: SdkDevicesTable;
  sdk_tokens: SdkTokensTable;
  processes: ProcessesTable;
  process_versions: ProcessVersionsTable;
  queues: QueuesTable;
  queue_items: QueueItemsTable;
  services: ServicesTable;
  deploy_tokens: DeployTokensTable;
  deployments: DeploymentsTable;
  deployment_targets: DeploymentTargetsTable;
  deployment_steps: DeploymentStepsTable;
  node_leases: NodeLeasesTable;
  notification_channels: NotificationChannelsTable;
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
  alert_conditions: AlertConditionsTable;
  silences: SilencesTable;
  metric_points: MetricPointsTable;
  agent_metrics_1m: AgentMetricBucketsTable;
  agent_metrics_1h: AgentMetricBucketsTable;
  fleet_metrics_1m: FleetMetricBucketsTable;
  fleet_metrics_1h: FleetMetricBucketsTable;
  fleet_outcomes_1m: FleetOutcomeBucketsTable;
  fleet_outcomes_1h: FleetOutcomeBucketsTable;
  metric_rollups: MetricRollupsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  housekeeping_runs: HousekeepingRunsTable;
  assistant_conversations: AssistantConversationsTable;
  assistant_messages: AssistantMessagesTable;
  assistant_usage: AssistantUsageTable;
  agent_update_keys: AgentUpdateKeysTable;
  agent_update_policies: AgentUpdatePoliciesTable;
  agent_update_states: AgentUpdateStatesTable;
}
