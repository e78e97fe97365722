import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

export const BuildOs = Type.Union([Type.Literal('linux'), Type.Literal('darwin'), Type.Literal('windows')]);
export type BuildOs = Static<typeof BuildOs>;
export const BuildArch = Type.Union([Type.Literal('x64'), Type.Literal('arm64')]);
export type BuildArch = Static<typeof BuildArch>;

/** A build as the API shows it, wherever it does (builds, updates, installers). */
export const BuildSummary = Type.Object({
  os: BuildOs,
  arch: BuildArch,
  version: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
});

/**
 * `manifest.json` in the builds directory, as `npm run build:agents` writes it: one single-file
 * agent per platform, its file name relative to the directory.
 */
export const BuildManifest = Type.Object({
  version: Type.String({ minLength: 1, maxLength: 50 }),
  node_version: Type.String({ maxLength: 50 }),
  built_at: Type.String({ maxLength: 50 }),
  builds: Type.Array(
    Type.Object({
      os: BuildOs,
      arch: BuildArch,
      file: Type.String({ pattern: '^[A-Za-z0-9._-]+$', maxLength: 200 }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
      size: Type.Integer({ minimum: 1 }),
    }),
    { maxItems: 20 },
  ),
});
export type BuildManifest = Static<typeof BuildManifest>;
export type BuildEntry = BuildManifest['builds'][number];
const checkManifest = Compile(BuildManifest);

/** A single-file agent this server hands out: checked against its manifest entry. */
export interface AgentBuild {
  os: BuildOs;
  arch: BuildArch;
  version: string;
  /** Absolute path of the executable. */
  file: string;
  sha256: string;
  size: number;
}

export function downloadPath(build: Pick<AgentBuild, 'os' | 'arch'>): string {
  return `/api/v1/agent-builds/${build.os}/${build.arch}/download`;
}

export function executableName(build: Pick<AgentBuild, 'os' | 'arch'>): string {
  return `fleetplane-agent-${build.os}-${build.arch}${build.os === 'windows' ? '.exe' : ''}`;
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The agent builds in `FLEETPLANE_AGENT_BUILDS_DIR`. The manifest is read again when it changes
 * (a new `build:agents` needs no restart); each file is hashed once per change, and an entry whose
 * file is missing or differs from the manifest is left out (and logged), never handed out.
 */
export class AgentBuilds {
  readonly #dir: string;
  readonly #warn: (message: string) => void;
  /** The load of the manifest seen last: callers during a load wait for it, none starts another. */
  #loaded: { mtimeMs: number; builds: Promise<AgentBuild[]> } | undefined;

  constructor(deps: { dir: string; warn: (message: string) => void }) {
    this.#dir = deps.dir;
    this.#warn = deps.warn;
  }

  async list(): Promise<AgentBuild[]> {
    const manifestFile = path.join(this.#dir, 'manifest.json');
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(manifestFile)).mtimeMs;
    } catch {
      return [];
    }
    if (this.#loaded?.mtimeMs !== mtimeMs) {
      const loaded = { mtimeMs, builds: this.#load(manifestFile) };
      this.#loaded = loaded;
      // a file that vanished mid-hash: the next call reads the directory again
      loaded.builds.catch(() => {
        if (this.#loaded === loaded) this.#loaded = undefined;
      });
    }
    return this.#loaded.builds;
  }

  async find(os: BuildOs, arch: BuildArch): Promise<AgentBuild | undefined> {
    return (await this.list()).find((build) => build.os === os && build.arch === arch);
  }

  open(build: AgentBuild): ReadStream {
    return createReadStream(build.file);
  }

  async #load(manifestFile: string): Promise<AgentBuild[]> {
    let manifest: unknown;
    try {
      manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    } catch (error) {
      this.#warn(`agent builds: ${manifestFile} cannot be read: ${(error as Error).message}`);
      return [];
    }
    if (!checkManifest.Check(manifest)) {
      this.#warn(`agent builds: ${manifestFile} is not a build manifest`);
      return [];
    }
    const builds: AgentBuild[] = [];
    for (const entry of manifest.builds) {
      const file = path.join(this.#dir, entry.file);
      const found = await stat(file).catch(() => undefined);
      if (!found || found.size !== entry.size || (await sha256Of(file)) !== entry.sha256) {
        this.#warn(`agent builds: ${entry.file} is missing or differs from the manifest; not offered`);
        continue;
      }
      builds.push({ ...entry, file, version: manifest.version });
    }
    return builds;
  }
}
