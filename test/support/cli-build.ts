import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The `fleetplane` command as one ES module, so the agents and servers the tests spawn start without
 * compiling the sources each time (a few hundred of them per run, on two cores). Packages stay
 * external and resolve from node_modules; the package root is found by walking up from it.
 */
export const cliBundle = path.join(root, 'node_modules', '.cache', 'fleetplane-test', 'cli.mjs');

/** Vitest global setup: bundles `src/cli/main.ts` once per run. */
export default async function setup(): Promise<void> {
  await build({
    entryPoints: [path.join(root, 'src/cli/main.ts')],
    outfile: cliBundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}
