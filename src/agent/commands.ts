import type { Interpreter } from '../protocol/jobs.js';

/**
 * The exact programs the agent starts, per OS and interpreter, and how it stops them. Pure
 * functions, so the Windows and PowerShell lines are checked by tests on any machine.
 */

export interface CommandLine {
  file: string;
  args: string[];
  /** cmd.exe parses its own command line, so its arguments must reach it exactly as built. */
  windowsVerbatimArguments: boolean;
}

export interface Unsupported {
  error: string;
}

const extensions: Record<Interpreter, string> = {
  bash: '.sh',
  sh: '.sh',
  python: '.py',
  pwsh: '.ps1',
  powershell: '.ps1',
  cmd: '.cmd',
  node: '.mjs',
};

/** The script's file name: PowerShell runs only .ps1 files with -File and cmd.exe needs .cmd. */
export function scriptName(interpreter: Interpreter): string {
  return `job${extensions[interpreter]}`;
}

/** The bytes written to the script file. */
export function scriptContent(interpreter: Interpreter, command: string): Buffer {
  switch (interpreter) {
    case 'pwsh':
    case 'powershell':
      // Windows PowerShell 5.1 reads a BOM-less script as ANSI; the BOM keeps non-ASCII text intact
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(command, 'utf8')]);
    case 'cmd':
      // without @echo off every line is echoed into the output; LF-only batch files break labels
      return Buffer.from(`@echo off\r\n${command.replace(/\r?\n/g, '\r\n')}`, 'utf8');
    case 'bash':
    case 'sh':
    case 'python':
    case 'node':
      return Buffer.from(command, 'utf8');
  }
}

/** The python found on PATH wins; otherwise the usual name on the platform. */
function defaultPython(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'python' : 'python3';
}

const plain = (file: string, args: string[]): CommandLine => ({
  file,
  args,
  windowsVerbatimArguments: false,
});

/** The argv that runs the script file at `script` with the interpreter on the platform. */
export function commandLine(
  interpreter: Interpreter,
  script: string,
  platform: NodeJS.Platform,
  python: string = defaultPython(platform),
): CommandLine | Unsupported {
  const windows = platform === 'win32';
  switch (interpreter) {
    case 'bash':
      return plain('bash', [script]);
    case 'sh':
      return plain('sh', [script]);
    case 'python':
      return plain(python, [script]);
    case 'node':
      return plain(process.execPath, [script]);
    case 'pwsh':
      return plain('pwsh', ['-NoProfile', '-NonInteractive', '-File', script]);
    case 'powershell':
      // Windows PowerShell exists only on Windows; elsewhere PowerShell is pwsh
      return windows
        ? plain('powershell.exe', [
            '-NoProfile',
            '-NonInteractive',
            '-ExecutionPolicy',
            'Bypass',
            '-File',
            script,
          ])
        : plain('pwsh', ['-NoProfile', '-NonInteractive', '-File', script]);
    case 'cmd':
      if (!windows) return { error: `cmd needs Windows; this agent runs on ${platform}` };
      // /s strips the outer quotes, leaving the path quoted: temp paths can contain spaces
      return { file: 'cmd.exe', args: ['/d', '/s', '/c', `""${script}""`], windowsVerbatimArguments: true };
  }
}

/** One step of stopping a job: a signal to a process group, or a program to run. */
export type KillStep =
  | { kind: 'signal'; pid: number; signal: NodeJS.Signals; afterMs: number }
  | { kind: 'exec'; file: string; args: string[]; afterMs: number };

const KILL_GRACE_MS = 2_000;

/**
 * How to stop a job's whole process tree. On POSIX the child leads its own process group, so a
 * negative pid reaches every descendant that did not leave the group; SIGKILL follows for those
 * that ignore SIGTERM. Windows has no groups: taskkill /T walks the tree.
 */
export function killPlan(pid: number, platform: NodeJS.Platform): KillStep[] {
  if (platform === 'win32') {
    return [{ kind: 'exec', file: 'taskkill', args: ['/pid', String(pid), '/T', '/F'], afterMs: 0 }];
  }
  return [
    { kind: 'signal', pid: -pid, signal: 'SIGTERM', afterMs: 0 },
    { kind: 'signal', pid: -pid, signal: 'SIGKILL', afterMs: KILL_GRACE_MS },
  ];
}
