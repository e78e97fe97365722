import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PublishedBuild {
  os: string;
  arch: string;
  file: string;
  sha256: string;
  size: number;
}

/**
 * Puts executables in a server's builds directory under their manifest, as `npm run build:agents`
 * leaves them: each file (bytes, or a file copied by its path) first, the manifest last.
 */
export function publishBuilds(
  dir: string,
  version: string,
  entries: { os: string; arch: string; file: string; bytes: Buffer | string }[],
): PublishedBuild[] {
  mkdirSync(dir, { recursive: true });
  const builds = entries.map(({ os, arch, file, bytes }) => {
    const target = path.join(dir, file);
    rmSync(target, { force: true });
    if (typeof bytes === 'string') copyFileSync(bytes, target);
    else writeFileSync(target, bytes);
    chmodSync(target, 0o755);
    const written = readFileSync(target);
    return {
      os,
      arch,
      file,
      sha256: createHash('sha256').update(written).digest('hex'),
      size: written.length,
    };
  });
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version,
      node_version: process.versions.node,
      built_at: new Date().toISOString(),
      builds,
    }),
  );
  return builds;
}
