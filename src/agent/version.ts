import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Baked in by `npm run build:agents` (esbuild's define); undeclared when the agent runs from source. */
declare const FLEETPLANE_AGENT_VERSION: string | undefined;

/** True in the single-file executable: only that build can replace itself with a newer one. */
export function isSingleExecutable(): boolean {
  return typeof FLEETPLANE_AGENT_VERSION === 'string';
}

/**
 * The agent's version: the one baked into the executable, else the package's. The package.json is
 * found walking up from this file (from source and from dist/ alike); the agent imports no server code.
 */
export function agentVersion(): string {
  if (typeof FLEETPLANE_AGENT_VERSION === 'string') return FLEETPLANE_AGENT_VERSION;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    const parent = path.dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}
