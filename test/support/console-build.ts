import { fileURLToPath } from 'node:url';
import { ensureConsoleBuilt } from '../../src/cli/console-build.js';

/** Vitest global setup: the test servers serve web/dist, built once per run when missing or stale. */
export default async function setup(): Promise<void> {
  await ensureConsoleBuilt(fileURLToPath(new URL('../../web', import.meta.url)), (line) => console.log(line));
}
