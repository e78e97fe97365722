import { Type, type Static, type TObject } from 'typebox';

/** Every setting, its type and its default. Secret fields are encrypted at rest and masked on read. */
export const settingsCatalog = {
  general: Type.Object({
    instance_name: Type.String({
      default: 'Fleetplane',
      minLength: 1,
      maxLength: 100,
      description:
        "The instance's name (the primary organisation's counts): the console's title and the sender of its mails",
    }),
    timezone: Type.String({
      default: 'UTC',
      minLength: 1,
      maxLength: 64,
      description: "IANA time zone a schedule's cron expression is read in when the schedule names none",
    }),
  }),
  security: Type.Object({
    allow_signup: Type.Boolean({
      default: true,
      description: 'Anyone may create an organisation; when off, only invites',
    }),
    password_min_length: Type.Integer({ default: 8, minimum: 8, maximum: 128 }),
    api_key_max_ttl_days: Type.Integer({
      default: 0,
      minimum: 0,
      description: '0 means keys may never expire',
    }),
  }),
  jobs: Type.Object({
    default_timeout_seconds: Type.Integer({ default: 300, minimum: 1, maximum: 86_400 }),
    max_attempts: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 20,
      description:
        'How many times a job may start when no job, script or task says: 1 runs each job at most ' +
        'once (a job whose agent vanished while running it ends lost, never run again)',
    }),
    output_cap_bytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 104_857_600 }),
    output_retention_days: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 36_500,
      description:
        'Days the output of a finished job is kept, then housekeeping deletes it (the job stays); 0 keeps it',
    }),
  }),
  email: Type.Object({
    smtp_host: Type.String({ default: '', maxLength: 255 }),
    smtp_port: Type.Integer({ default: 587, minimum: 1, maximum: 65_535 }),
    smtp_secure: Type.Boolean({ default: false }),
    smtp_user: Type.String({ default: '', maxLength: 255 }),
    smtp_password: Type.String({ default: '', maxLength: 1024 }),
    from_address: Type.String({ default: 'fleetplane@localhost', maxLength: 255 }),
  }),
  logging: Type.Object({
    level: Type.Union(
      [Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
      {
        default: 'info',
        description:
          "The server's log level, applied on every node without a restart (the primary organisation's counts)",
      },
    ),
    audit_retention_days: Type.Integer({
      default: 365,
      minimum: 1,
      maximum: 36_500,
      description: 'Days audit events are kept, then housekeeping deletes them',
    }),
  }),
  ai: Type.Object({
    enabled: Type.Boolean({ default: false }),
    provider_url: Type.String({ default: '', maxLength: 1024 }),
    model: Type.String({ default: '', maxLength: 200 }),
    api_key: Type.String({ default: '', maxLength: 4096 }),
    safety_check: Type.Boolean({ default: true }),
    max_tokens: Type.Integer({ default: 1024, minimum: 64, maximum: 32_768 }),
    temperature: Type.Number({ default: 0.2, minimum: 0, maximum: 2 }),
    timeout_seconds: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 300,
      description: 'How long the provider has to answer one call; then the request answers 504',
    }),
    system_prompt_extra: Type.String({
      default: '',
      maxLength: 4000,
      description: "Added to the assistant's instructions (house rules, preferred tools)",
    }),
  }),
  packages: Type.Object({
    max_upload_mib: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 10_240,
      description: 'Largest automation package (zip) accepted, in MiB; larger uploads answer 413',
    }),
    max_files: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000 }),
    max_unpacked_mib: Type.Integer({
      default: 1024,
      minimum: 1,
      maximum: 1_048_576,
      description: "A package's size once unpacked, in MiB: as its headers declare and as it really inflates",
    }),
  }),
  webhooks: Type.Object({
    timeout_seconds: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 60,
      description: 'How long a receiver has to answer one delivery attempt',
    }),
    max_attempts: Type.Integer({
      default: 8,
      minimum: 1,
      maximum: 20,
      description: 'Tries per delivery, backing off exponentially (with jitter) between them',
    }),
    pause_after_failures: Type.Integer({
      default: 20,
      minimum: 1,
      maximum: 1000,
      description: 'Failed attempts in a row after which a subscription is paused until resumed',
    }),
  }),
  metrics: Type.Object({
    raw_retention_hours: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 168,
      description:
        "How long each heartbeat's metrics are kept as heard, in hours. Instance-wide: the primary organisation's value counts",
    }),
    minute_retention_days: Type.Integer({
      default: 7,
      minimum: 1,
      maximum: 90,
      description: 'How long 1-minute rollups are kept, in days. Instance-wide',
    }),
    hour_retention_days: Type.Integer({
      default: 90,
      minimum: 1,
      maximum: 3650,
      description: 'How long 1-hour rollups are kept, in days. Instance-wide',
    }),
  }),
  alerts: Type.Object({
    evaluation_interval_seconds: Type.Integer({
      default: 30,
      minimum: 5,
      maximum: 3600,
      description:
        "How often alert rules are evaluated (by one node). Instance-wide: the primary organisation's value counts",
    }),
  }),
} satisfies Record<string, TObject>;

export type SettingsGroup = keyof typeof settingsCatalog;
export type SettingsValues<G extends SettingsGroup> = Static<(typeof settingsCatalog)[G]>;

export const settingsGroups = Object.keys(settingsCatalog) as SettingsGroup[];

export const secretSettings: Readonly<Record<SettingsGroup, readonly string[]>> = {
  general: [],
  security: [],
  jobs: [],
  email: ['smtp_password'],
  logging: [],
  ai: ['api_key'],
  packages: [],
  webhooks: [],
  metrics: [],
  alerts: [],
};

export function settingsDefaults<G extends SettingsGroup>(group: G): SettingsValues<G> {
  const properties = settingsCatalog[group].properties as unknown as Record<string, { default: unknown }>;
  return Object.fromEntries(
    Object.entries(properties).map(([key, schema]) => [key, schema.default]),
  ) as SettingsValues<G>;
}
