import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliBundle } from './cli-build.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A free loopback port, so a restarted server comes back where its agents expect it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output: string[];
  /** Resolves with the first output line matching, or rejects after the timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `fleetplane <args>`, bundled from source by the global setup, as a real child process. */
export function fleetplane(args: string[], env: Record<string, string>): Proc {
  return runProcess(process.execPath, [cliBundle, ...args], env);
}

/** Runs a program (a single-file agent, say) as a real child process, its output collected by line. */
export function runProcess(command: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      for (const waiter of [...waiters]) {
        const match = line.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output,
    waitFor(pattern, timeoutMs = 20_000) {
      const seen = output.map((line) => line.match(pattern)).find((m) => m);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`timed out waiting for ${pattern}; output:\n${output.slice(-30).join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export function isRunning(proc: Proc): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** SIGTERM, then SIGKILL if the process is still there after graceMs. Resolves when it has exited. */
export async function stopProcess(proc: Proc, graceMs = 10_000): Promise<number | null> {
  if (!isRunning(proc)) return proc.child.exitCode;
  // a test may have paused it; a stopped process would hold the SIGTERM until then
  proc.child.kill('SIGCONT');
  const exited = proc.stop('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

export function uniqueFingerprint(): string {
  return randomBytes(16).toString('hex');
}
