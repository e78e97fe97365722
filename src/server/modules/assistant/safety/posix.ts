/**
 * bash/sh: tokenize, strip wrappers (`sudo`, `env`, `nohup`, `busybox`, `/bin/`), follow nested
 * commands (`bash -c`, `eval`, `ssh host cmd`, `python -c`, `powershell -c`, substitutions) and
 * apply the command, pipeline and text rules of safety.rules.posix.ts.
 */
import { analyzePowerShellInvocation } from './powershell.js';
import { tokenizePosix, type RawCommand } from './posix.tokenize.js';
import { applyRules, finding, unrecognised, type SimpleCommand } from './rule.js';
import { POSIX_PIPELINE_RULES, POSIX_RULES, POSIX_SCRIPT_RULES, POSIX_TEXT_RULES } from './rules.posix.js';
import { isPosixReadOnly } from './rules.posix.readonly.js';
import type { Nesting, SafetyFinding } from './verdict.js';

/** Wrappers that run their operand as a command, with the options of each that take a value. */
const WRAPPERS: Record<string, string[]> = {
  sudo: ['-u', '-g', '-h', '-p', '-C', '-D', '-r', '-t', '-U', '-T'],
  doas: ['-u', '-C'],
  env: ['-u', '-C', '-S', '--unset', '--chdir'],
  command: [],
  builtin: [],
  exec: ['-a'],
  nohup: [],
  nice: ['-n', '--adjustment'],
  ionice: ['-c', '-n', '-p', '-t'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  stdbuf: ['-i', '-o', '-e'],
  time: ['-f', '-o'],
  busybox: [],
  xargs: ['-I', '-n', '-P', '-d', '-L', '-a', '-E', '-s', '--max-args', '--max-procs', '--delimiter'],
  setsid: [],
  unbuffer: [],
  chroot: [],
  watch: ['-n', '-d', '--interval'],
  runuser: ['-u', '-g', '-G', '--user', '--group'],
  caffeinate: [],
  if: [],
  elif: [],
  while: [],
  until: [],
  then: [],
  do: [],
  else: [],
  '!': [],
  '{': [],
  function: [],
};
/** Wrappers that take one positional operand before the command (a duration, a directory). */
const WRAPPER_OPERAND: Record<string, number> = { timeout: 1, chroot: 1, function: 1 };
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh', 'fish', 'busybox-sh', 'rbash']);
const CONTROL_HEADS = new Set(['for', 'case', 'select', 'fi', 'done', 'esac', '}', 'in', ';;']);
const PRIVILEGED = new Set(['sudo', 'doas', 'su', 'runuser', 'pkexec']);

export function basename(word: string): string {
  return (word.split('/').pop() ?? word).toLowerCase();
}

/** Brace expansion in the command position: `{rm,-rf,/}` runs `rm -rf /`. */
function expandBraces(words: string[]): string[] {
  const first = words[0] ?? '';
  const match = /^\{([^{}]*,[^{}]*)\}$/.exec(first);
  return match ? [...(match[1] ?? '').split(','), ...words.slice(1)] : words;
}

/** Strips wrappers and assignments; returns the command they run and the wrappers seen. */
export function unwrap(raw: RawCommand): { command: SimpleCommand; assignments: string[] } {
  let words = expandBraces(raw.words);
  const wrappers: string[] = [];
  const assignments: string[] = [];
  for (;;) {
    const head = words[0];
    if (head === undefined) break;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(head)) {
      assignments.push(head);
      words = words.slice(1);
      continue;
    }
    const name = basename(head);
    const valued = WRAPPERS[name];
    if (!valued) break;
    // `command -v x` only looks a name up.
    if (name === 'command' && /^-[vV]$/.test(words[1] ?? '')) break;
    wrappers.push(name);
    let i = 1;
    while (i < words.length && (words[i] ?? '').startsWith('-') && words[i] !== '-') {
      const option = words[i] ?? '';
      i += valued.includes(option) ? 2 : 1;
      if (option === '--') break;
    }
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? ''))
      assignments.push(words[i++] ?? '');
    i += WRAPPER_OPERAND[name] ?? 0;
    words = words.slice(i);
  }
  const [head, ...args] = words;
  return {
    command: { name: head === undefined ? '' : basename(head), args, redirects: raw.redirects, wrappers },
    assignments,
  };
}

/** The option value after a flag such as `-c`, in its own word or glued to it. */
function flagValue(args: string[], flags: RegExp): string | null {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (flags.test(arg)) return args[i + 1] ?? '';
    if (!arg.startsWith('-')) return null;
  }
  return null;
}

/** Commands inside this one: `bash -c`, `eval`, `su -c`, `ssh host cmd`, `python -c`, `pwsh -c`, `env -S`. */
function nested(command: SimpleCommand, nest: Nesting): SafetyFinding[] | null {
  const { name, args } = command;
  if (SHELLS.has(name)) {
    const script = flagValue(args, /^-[a-z]*c[a-z]*$/i);
    if (script !== null) return nest.inner(script, 'bash');
    if (args.length === 0 || args[0] === '-s' || args[0] === '-') return null;
    return [finding('script-execution', 'caution', `runs the script ${args[0] ?? ''}`)];
  }
  if (name === 'eval' || name === 'source' || name === '.') {
    return name === 'eval'
      ? nest.inner(args.join(' '), 'bash')
      : [finding('script-execution', 'caution', `sources ${args[0] ?? 'a script'}`)];
  }
  if (name === 'su') {
    const script = flagValue(
      args.filter((a) => !/^[a-z_][a-z0-9_-]*$/i.test(a) || a.startsWith('-')),
      /^(?:-c|--command)$/,
    );
    return script === null ? null : nest.inner(script, 'bash');
  }
  if (/^python[0-9.]*$/.test(name)) {
    const code = flagValue(args, /^-[a-zA-Z]*c$/);
    if (code !== null) return nest.inner(code, 'python');
  }
  if (name === 'pwsh' || name === 'powershell' || name === 'powershell.exe' || name === 'pwsh.exe') {
    return analyzePowerShellInvocation(args, nest.deeper());
  }
  if (name === 'ssh') return sshCommand(args, nest);
  return null;
}

const SSH_VALUED = new Set('bcDEeFIiJLlmOopQRSWw'.split('').map((c) => `-${c}`));

function sshCommand(args: string[], nest: Nesting): SafetyFinding[] | null {
  let i = 0;
  while (i < args.length && (args[i] ?? '').startsWith('-')) i += SSH_VALUED.has(args[i] ?? '') ? 2 : 1;
  const remote = args.slice(i + 1);
  if (remote.length === 0) return [finding('remote-shell', 'caution', 'opens an interactive remote shell')];
  return nest.inner(remote.join(' '), 'bash');
}

function analyzeCommand(raw: RawCommand, nest: Nesting): SafetyFinding[] {
  const { command, assignments } = unwrap(raw);
  const findings: SafetyFinding[] = applyRules(POSIX_RULES, command);
  if (command.wrappers.some((w) => PRIVILEGED.has(w)) || PRIVILEGED.has(command.name)) {
    findings.push(finding('elevated-privileges', 'caution', 'runs with elevated privileges'));
  }
  for (const assignment of assignments) {
    if (/^HIST(?:FILE|SIZE|FILESIZE)=(?:\/dev\/null|0|)$/.test(assignment)) {
      findings.push(finding('history-clearing', 'dangerous', 'disables the shell history'));
    } else if (command.name === '' && !/^HIST/.test(assignment)) {
      findings.push(finding('variable-assignment', 'caution', 'sets a shell variable'));
    }
  }
  if (command.name === '' || CONTROL_HEADS.has(command.name)) return findings;
  const inner = nested(command, nest);
  if (inner) return [...findings, ...inner];
  if (findings.length === 0 && !isPosixReadOnly(command)) {
    findings.push(command.name.includes('$') ? dynamicName(command.name) : unrecognised(command.name));
  }
  return findings;
}

function dynamicName(name: string): SafetyFinding {
  return finding('dynamic-command', 'caution', `the command name ${name} is computed at run time`);
}

export function analyzePosix(text: string, nest: Nesting): SafetyFinding[] {
  const findings: SafetyFinding[] = applyRules(POSIX_TEXT_RULES, text);
  const parse = tokenizePosix(text);
  if (parse.unterminated)
    findings.push(finding('unterminated-syntax', 'caution', 'an open quote or substitution'));
  findings.push(
    ...applyRules(
      POSIX_SCRIPT_RULES,
      parse.pipelines.flat().map((raw) => unwrap(raw).command),
    ),
  );
  for (const pipeline of parse.pipelines) {
    const stages = pipeline.map((raw) => unwrap(raw).command);
    findings.push(...applyRules(POSIX_PIPELINE_RULES, stages));
    for (const raw of pipeline) findings.push(...analyzeCommand(raw, nest));
  }
  for (const inner of parse.substitutions) findings.push(...nest.inner(inner, 'bash'));
  return findings;
}
