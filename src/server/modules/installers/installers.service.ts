import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, assertNever, notFound } from '../../lib/errors.js';
import type { RequestContext } from '../access/context.js';
import {
  downloadPath,
  executableName,
  type AgentBuild,
  type AgentBuilds,
  type BuildArch,
  type BuildOs,
} from '../agent-builds/agent-builds.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { EnrollmentCaller, EnrollmentService } from '../enrollment/enrollment.service.js';
import {
  DEFAULT_TOKEN,
  type InstallerCommand,
  type InstallerConfig,
  type InstallerCreateBody,
} from './installers.schemas.js';
import {
  installLocations,
  platforms,
  ROSETTA_NOTE,
  scriptFileName,
  scriptPath,
  servedPlatform,
  type InstallerValues,
} from './platforms.js';
import { darwinScript, linuxScript } from './posix-script.js';
import { embeddable, oneLiner } from './quoting.js';
import { windowsScript } from './windows-script.js';

const HOUR_MS = 3_600_000;

/** An installer script, as a file to download. */
export interface InstallerScript {
  fileName: string;
  contentType: string;
  text: string;
}

/** What `POST /installers` answers, by format, and the token it was made for. */
export type InstallerAnswer = { tokenId: string } & (
  | { format: 'script'; script: InstallerScript }
  | { format: 'zip'; fileName: string; stream: Readable; size: number }
  | { format: 'command'; command: InstallerCommand }
);

function renderScript(values: InstallerValues): InstallerScript {
  const fileName = scriptFileName(values.os, values.arch);
  switch (values.os) {
    case 'linux':
      return { fileName, contentType: 'text/x-shellscript; charset=utf-8', text: linuxScript(values) };
    case 'darwin':
      return { fileName, contentType: 'text/x-shellscript; charset=utf-8', text: darwinScript(values) };
    case 'windows':
      // text/plain: Invoke-WebRequest gives piped text as a string only for text types
      return { fileName, contentType: 'text/plain; charset=utf-8', text: windowsScript(values) };
    default:
      return assertNever(values.os);
  }
}

/**
 * Installers: a script per platform with the server and an enrollment token embedded, an
 * offline zip, or the one-line command that fetches the script with the token alone. Tokens are
 * made and checked by the enrollment service; the build comes from the agent builds.
 */
/** The build installed on a platform, among those the server holds (darwin-arm64 may get darwin-x64). */
function buildAmong(builds: readonly AgentBuild[], os: BuildOs, arch: BuildArch): AgentBuild | undefined {
  for (const served of servedPlatform(os, arch)) {
    const build = builds.find((b) => b.os === served.os && b.arch === served.arch);
    if (build) return build;
  }
  return undefined;
}

export class InstallersService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #enrollment: Pick<EnrollmentService, 'create' | 'authenticate'>;
  readonly #builds: AgentBuilds;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    enrollment: Pick<EnrollmentService, 'create' | 'authenticate'>;
    builds: AgentBuilds;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#enrollment = deps.enrollment;
    this.#builds = deps.builds;
  }

  /** The URL installers embed: FLEETPLANE_PUBLIC_URL, else where the caller reached this server. */
  #serverUrl(origin: string): string {
    return embeddable('server_url', origin);
  }

  async #buildFor(os: BuildOs, arch: BuildArch): Promise<AgentBuild | undefined> {
    return buildAmong(await this.#builds.list(), os, arch);
  }

  async config(origin: string): Promise<InstallerConfig> {
    const server = this.#serverUrl(origin);
    const builds = await this.#builds.list();
    const rows = platforms.map(({ os, arch }) => {
      const build = buildAmong(builds, os, arch);
      const rosetta = build !== undefined && build.arch !== arch;
      return {
        os,
        arch,
        available: build !== undefined,
        build: build
          ? {
              os: build.os,
              arch: build.arch,
              version: build.version,
              sha256: build.sha256,
              size: build.size,
            }
          : null,
        note: rosetta ? ROSETTA_NOTE : null,
      };
    });
    const template = (os: BuildOs) => oneLiner(os, '{token}', `${server}${scriptPath(os, '{arch}')}`);
    return {
      server_url: server,
      agent_version: builds[0]?.version ?? null,
      platforms: rows,
      locations: installLocations,
      defaults: { format: 'script', token: { ...DEFAULT_TOKEN } },
      commands: { linux: template('linux'), darwin: template('darwin'), windows: template('windows') },
    };
  }

  async create(ctx: RequestContext, origin: string, input: InstallerCreateBody): Promise<InstallerAnswer> {
    const format = input.format ?? 'script';
    if ((input.enrollment_token === undefined) === (input.token === undefined))
      throw new AppError('unprocessable', 'give either enrollment_token or token, and only one', {
        details: [{ field: 'body', message: 'exactly one of enrollment_token and token' }],
      });
    const server = this.#serverUrl(origin);
    // Checked before a token is made: a refusal leaves no token behind.
    const build = await this.#buildFor(input.os, input.arch);
    if (!build)
      throw new AppError('unprocessable', `this server has no agent build for ${input.os}-${input.arch}`, {
        details: [{ field: 'body.arch', message: 'no build (npm run build:agents makes them)' }],
      });
    const token = await this.#token(ctx, input);
    const values = this.#values(server, token.secret, build, input.os, input.arch, format === 'zip');
    await this.#audit.record(this.#db, ctx, {
      action: 'created',
      entityType: 'installer',
      entityId: token.id,
      after: {
        os: input.os,
        arch: input.arch,
        format,
        build: { os: build.os, arch: build.arch, version: build.version },
        enrollment: { id: token.id, prefix: token.prefix, created: token.created },
      },
    });
    switch (format) {
      case 'script':
        return { format, tokenId: token.id, script: renderScript(values) };
      case 'zip':
        return { format, tokenId: token.id, ...(await this.#zip(values, build)) };
      case 'command':
        return {
          format,
          tokenId: token.id,
          command: {
            os: input.os,
            arch: input.arch,
            command: oneLiner(input.os, token.secret, `${server}${scriptPath(input.os, input.arch)}`),
            enrollment_token: token.created ? token.secret : null,
            enrollment_token_id: token.created ? token.id : null,
          },
        };
      default:
        return assertNever(format);
    }
  }

  /** The installer a new machine fetches with its enrollment token, which stays unspent. */
  async scriptFor(
    caller: EnrollmentCaller,
    origin: string,
    os: BuildOs,
    arch: BuildArch,
  ): Promise<InstallerScript> {
    const build = await this.#buildFor(os, arch);
    if (!build) throw notFound(`agent build for ${os}-${arch}`);
    return renderScript(this.#values(this.#serverUrl(origin), caller.secret, build, os, arch, false));
  }

  async #token(
    ctx: RequestContext,
    input: InstallerCreateBody,
  ): Promise<{ id: string; prefix: string; secret: string; created: boolean }> {
    if (input.enrollment_token !== undefined) {
      // Unknown, spent and foreign tokens answer alike: nothing says another organisation has it.
      // a database failure is no refusal: only the token's own verdict (401) is turned into a 422
      const caller = await this.#enrollment.authenticate(input.enrollment_token).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'unauthorized') return undefined;
        throw error;
      });
      if (!caller || caller.orgId !== ctx.orgId)
        throw new AppError(
          'unprocessable',
          'enrollment_token is not an active enrollment token of this organisation',
          {
            details: [
              { field: 'body.enrollment_token', message: 'not an active token of this organisation' },
            ],
          },
        );
      return { id: caller.tokenId, prefix: caller.prefix, secret: caller.secret, created: false };
    }
    const options = input.token ?? {};
    const hours = options.expires_in_hours ?? DEFAULT_TOKEN.expires_in_hours;
    const { enrollment_token: view, secret } = await this.#enrollment.create(ctx, {
      name: `installer ${input.os}-${input.arch}`,
      expires_at: new Date(this.#clock.now().getTime() + hours * HOUR_MS).toISOString(),
      max_uses: options.max_uses ?? DEFAULT_TOKEN.max_uses,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.group_id ? { group_id: options.group_id } : {}),
    });
    return { id: view.id, prefix: view.prefix, secret, created: true };
  }

  #values(
    server: string,
    token: string,
    build: AgentBuild,
    os: BuildOs,
    arch: BuildArch,
    offline: boolean,
  ): InstallerValues {
    return {
      os,
      arch,
      servedArch: build.arch,
      server,
      token,
      version: build.version,
      sha256: build.sha256,
      downloadUrl: `${server}${downloadPath(build)}`,
      executableName: executableName(build),
      offline,
    };
  }

  /** The offline zip: the executable, the installer that installs it from beside itself, a README. */
  async #zip(
    values: InstallerValues,
    build: AgentBuild,
  ): Promise<{ fileName: string; stream: Readable; size: number }> {
    const script = renderScript(values);
    const windows = values.os === 'windows';
    const scriptName = windows ? 'install.ps1' : 'install.sh';
    const run = windows
      ? 'in a PowerShell run as administrator: powershell -ExecutionPolicy Bypass -File install.ps1 (add -Uninstall to remove)'
      : 'as root: sudo sh install.sh (add --uninstall to remove)';
    const readme = `Fleetplane agent ${values.version} for ${values.os} ${values.arch}, for machines without access to ${values.server}'s downloads: unpack, then run ${run}. Run it again to upgrade.\n`;
    // stored, not compressed: the sizes are known ahead, so the answer has a length
    const options = { mtime: this.#clock.now(), compress: false };
    const zip = new yazl.ZipFile();
    zip.addReadStreamLazy(values.executableName, { ...options, mode: 0o100755, size: build.size }, (open) =>
      open(null, this.#builds.open(build)),
    );
    zip.addBuffer(Buffer.from(script.text, 'utf8'), scriptName, { ...options, mode: 0o100755 });
    zip.addBuffer(Buffer.from(readme, 'utf8'), 'README.txt', { ...options, mode: 0o100644 });
    // yazl calls back with the total size (its typings leave the argument out)
    const size = await new Promise<number>((resolve) => zip.end(undefined, resolve as unknown as () => void));
    const stream = zip.outputStream as Readable;
    return { fileName: `fleetplane-agent-${values.os}-${values.arch}.zip`, stream, size };
  }
}
