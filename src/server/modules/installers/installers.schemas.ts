import { Type, type Static } from 'typebox';
import { Id } from '../../http/schemas.js';
import { BuildArch, BuildOs, BuildSummary } from '../agent-builds/agent-builds.js';
import { Tags } from '../agents/agents.schemas.js';

export const InstallerFormat = Type.Union([
  Type.Literal('script'),
  Type.Literal('zip'),
  Type.Literal('command'),
]);
export type InstallerFormat = Static<typeof InstallerFormat>;

export const DEFAULT_TOKEN = { expires_in_hours: 24, max_uses: 1 } as const;

/** The enrollment token an installer creates, through the enrollment module's own rules. */
export const InstallerTokenOptions = Type.Object(
  {
    tags: Type.Optional(Tags),
    group_id: Type.Optional(Id),
    expires_in_hours: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 8760, default: DEFAULT_TOKEN.expires_in_hours }),
    ),
    max_uses: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, default: DEFAULT_TOKEN.max_uses }),
    ),
  },
  { additionalProperties: false },
);

export const InstallerCreateBody = Type.Object(
  {
    os: BuildOs,
    arch: BuildArch,
    format: Type.Optional(InstallerFormat),
    enrollment_token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'An active enrollment token of the organisation; or `token` to create one',
      }),
    ),
    token: Type.Optional(InstallerTokenOptions),
  },
  { additionalProperties: false },
);
export type InstallerCreateBody = Static<typeof InstallerCreateBody>;

export const InstallerCommand = Type.Object({
  os: BuildOs,
  arch: BuildArch,
  /** Paste into a shell (Linux, macOS) or an administrator PowerShell (Windows). */
  command: Type.String(),
  /** The token created for it, shown this once; null when an existing token was given. */
  enrollment_token: Type.Union([Type.String(), Type.Null()]),
  enrollment_token_id: Type.Union([Id, Type.Null()]),
});
export type InstallerCommand = Static<typeof InstallerCommand>;

/** Where an installer puts the agent, its state (the agent token) and its service definition. */
export const InstallLocations = Type.Object({
  binary: Type.String(),
  state: Type.String(),
  service: Type.String(),
});
export type InstallLocations = Static<typeof InstallLocations>;

export const InstallerConfig = Type.Object({
  /** What installers embed and download from: FLEETPLANE_PUBLIC_URL, else the request's origin. */
  server_url: Type.String(),
  /** The version of the builds served; null when none is. */
  agent_version: Type.Union([Type.String(), Type.Null()]),
  platforms: Type.Array(
    Type.Object({
      os: BuildOs,
      arch: BuildArch,
      available: Type.Boolean(),
      /** The build installed there: darwin-arm64 is served darwin-x64 (Rosetta 2) when it has none. */
      build: Type.Union([BuildSummary, Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  locations: Type.Object({ linux: InstallLocations, darwin: InstallLocations, windows: InstallLocations }),
  defaults: Type.Object({
    format: InstallerFormat,
    token: Type.Object({ expires_in_hours: Type.Integer(), max_uses: Type.Integer() }),
  }),
  /** One-line commands per OS: `{token}` and `{arch}` are placeholders (`format: command` fills them). */
  commands: Type.Object({ linux: Type.String(), darwin: Type.String(), windows: Type.String() }),
});
export type InstallerConfig = Static<typeof InstallerConfig>;
