import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BuiltAgent } from '../../scripts/build-agents.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs `npm run build:agents` for linux-x64 into `out`, as an operator would (through tsx), and
 * answers the build from the manifest it wrote, with the executable's path.
 */
export async function buildLinuxAgent(version: string, out: string): Promise<BuiltAgent & { path: string }> {
  await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/build-agents.ts',
      '--platforms',
      'linux-x64',
      '--version',
      version,
      '--out',
      out,
    ],
    { cwd: root, maxBuffer: 16 * 1024 * 1024 },
  );
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
    builds: BuiltAgent[];
  };
  const [built] = manifest.builds;
  if (!built) throw new Error(`build:agents wrote no build into ${out}`);
  return { ...built, path: path.join(out, built.file) };
}
