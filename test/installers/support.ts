import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { publishBuilds, type PublishedBuild } from '../support/agent-builds.js';

/**
 * A stand-in for a single-file agent: it writes its arguments (NUL-separated, one file per run)
 * to FAKE_AGENT_LOG_DIR, and with --token it "enrolls": it writes an agent token into its state
 * dir and stays up until stopped, as a real agent does; the token `refused` is refused.
 */
function fakeAgent(mark: string): string {
  return `#!/bin/sh
# fake agent ${mark}
for arg in "$@"; do printf '%s\\0' "$arg"; done > "$FAKE_AGENT_LOG_DIR/run.$$"
state=''
token=''
prev=''
for arg in "$@"; do
  [ "$prev" = --state-dir ] && state=$arg
  [ "$prev" = --token ] && token=$arg
  prev=$arg
done
[ -n "$token" ] || exit 0
if [ "$token" = refused ]; then echo 'registration refused (enrollment token is not valid)' >&2; exit 1; fi
printf '{"fingerprint":"fake-fingerprint","agent_id":"a","agent_token":"fpa_fake"}' > "$state/agent.json"
exec sleep 30
`;
}

/** A manifest of fake agents (no windows-arm64, no darwin-arm64) in dir. */
export function writeFakeBuilds(dir: string, version: string): PublishedBuild[] {
  const platforms = [
    ['linux', 'x64'],
    ['linux', 'arm64'],
    ['darwin', 'x64'],
    ['windows', 'x64'],
  ] as const;
  return publishBuilds(
    dir,
    version,
    platforms.map(([os, arch]) => ({
      os,
      arch,
      file: `fleetplane-agent-${os}-${arch}-${version}${os === 'windows' ? '.exe' : ''}`,
      bytes: Buffer.from(fakeAgent(`${os}-${arch} ${version}`)),
    })),
  );
}

/** A directory of recording stand-ins for service managers: each appends its argv to FAKE_CALLS. */
export function writeFakeTools(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "$FAKE_CALLS"\n`);
    chmodSync(file, 0o755);
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The argument lists of every run of the fake agent, in no particular order. */
export function agentRuns(logDir: string): string[][] {
  return readdirSync(logDir)
    .filter((name) => name.startsWith('run.'))
    .map((name) => readFileSync(path.join(logDir, name), 'utf8').split('\0').slice(0, -1));
}

/** Every file and directory under dir, relative, sorted. */
export function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects. */
export function run(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}
