import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** What the console's build is made from: a change to any of these makes `web/dist` stale. */
const SOURCES = ['src', 'index.html', 'vite.config.ts'];

function newestChange(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((newest, name) => Math.max(newest, newestChange(path.join(file, name))), 0);
}

/** Missing, or older than one of its sources. */
export function consoleBuildStale(webDir: string): boolean {
  const built = path.join(webDir, 'dist', 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return SOURCES.map((name) => path.join(webDir, name))
    .filter((file) => existsSync(file))
    .some((file) => newestChange(file) > builtAt);
}

/**
 * Builds the web console into `web/dist` when it is missing or stale, so `npm start` is the whole
 * quick start. The build goes to a directory of its own and is then moved into place, so a
 * server (or another test run) never serves half a build. Nothing to do without `web/` (an
 * installed package ships its build).
 */
export async function ensureConsoleBuilt(webDir: string, print: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(webDir, 'vite.config.ts')) || !consoleBuildStale(webDir)) return;
  print('Building the web console (web/dist is missing or older than web/src)…');
  const outDir = path.join(webDir, `dist.build-${process.pid}`);
  const { build } = await import('vite');
  // Vite keeps a NODE_ENV already set (vitest sets `test`) and would build React for development.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: webDir,
      configFile: path.join(webDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir },
    });
    rmSync(path.join(webDir, 'dist'), { recursive: true, force: true });
    renameSync(outDir, path.join(webDir, 'dist'));
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    rmSync(outDir, { recursive: true, force: true });
  }
  print('Web console built.');
}
