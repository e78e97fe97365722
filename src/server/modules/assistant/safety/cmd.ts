/**
 * cmd.exe: a tokenizer for its few rules (`^` escapes, `"` quoting, `&`, `&&`, `||`, `|`, newlines
 * and parentheses), known `%VARS%` expanded, `@`, `call`, `start`, `if`, `for ... do` and
 * `cmd /c` unwrapped, then the rules shared with PowerShell for Windows executables.
 */
import { expandWindowsVars } from './paths.js';
import { analyzePowerShellInvocation } from './powershell.js';
import { applyRules, finding, unrecognised, type Redirect, type Rule, type SimpleCommand } from './rule.js';
import { isWindowsReadOnly, WINDOWS_NATIVE_RULES } from './rules.windows.js';
import type { Nesting, SafetyFinding } from './verdict.js';

interface CmdWord {
  value: string;
  quoted: boolean;
}
interface CmdRaw {
  words: CmdWord[];
  redirects: Redirect[];
}

function tokenizeCmd(text: string): { pipelines: CmdRaw[][]; unterminated: boolean } {
  const pipelines: CmdRaw[][] = [];
  let pipeline: CmdRaw[] = [];
  let words: CmdWord[] = [];
  let redirects: Redirect[] = [];
  let word = '';
  let quoted = false;
  let inWord = false;
  let inQuote = false;
  let pending: string | null = null;
  const endWord = () => {
    if (inWord && pending) redirects.push({ op: pending, target: word });
    else if (inWord) words.push({ value: word, quoted });
    if (inWord) pending = null;
    word = '';
    quoted = false;
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length || redirects.length) pipeline.push({ words, redirects });
    words = [];
    redirects = [];
  };
  const endPipeline = () => {
    endCommand();
    if (pipeline.length) pipelines.push(pipeline);
    pipeline = [];
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (inQuote) {
      if (c === '"') inQuote = false;
      else word += c;
      continue;
    }
    if (c === '^') {
      if (text[i + 1] !== '\n') word += text[i + 1] ?? '';
      inWord = true;
      i += 1;
    } else if (c === '"') {
      inQuote = inWord = quoted = true;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === '=') {
      if (c === '=' && inWord) word += c;
      else endWord();
    } else if (c === '>' || c === '<') {
      const op = /^[<>]>?(?:&\d)?/.exec(text.slice(i))?.[0] ?? c;
      if (/^\d$/.test(word)) word = '';
      endWord();
      inWord = false;
      i += op.length - 1;
      if (!/&\d$/.test(op)) pending = op;
    } else if (c === '(' && words.at(-1)?.value.toLowerCase() === 'in' && !inWord) {
      // `for ... in (set) do`: the set is data, unless it is a quoted command (`in ('dir /b')`).
      const close = text.indexOf(')', i);
      const set = text.slice(i + 1, close < 0 ? text.length : close).trim();
      if (/^'.*'$/s.test(set)) pipelines.push(...tokenizeCmd(set.slice(1, -1)).pipelines);
      i = close < 0 ? text.length : close;
    } else if (c === '&' || c === '|' || c === '\n' || c === '(' || c === ')') {
      if (c === '|' && text[i + 1] !== '|') endCommand();
      else endPipeline();
      if ((c === '&' || c === '|') && text[i + 1] === c) i += 1;
    } else {
      word += c;
      inWord = true;
    }
  }
  endPipeline();
  return { pipelines, unterminated: inQuote };
}

const START_VALUED = new Set(['/d', '/affinity', '/node']);

/** Strips `@`, `call`, `start`, `if ...`, `for ... do`, `else`, `do`: the words of the command they run. */
function unwrapWords(input: CmdWord[]): CmdWord[] {
  let words = input;
  for (;;) {
    const head = (words[0]?.value ?? '').replace(/^@+/, '').toLowerCase();
    if (head === 'call' || head === 'else' || head === 'do') {
      words = words.slice(1);
    } else if (head === 'start') {
      let i = 1;
      if (words[i]?.quoted && words.length > 2) i += 1;
      while (i < words.length && /^\//.test(words[i]?.value ?? ''))
        i += START_VALUED.has((words[i]?.value ?? '').toLowerCase()) ? 2 : 1;
      words = words.slice(i);
    } else if (head === 'if') {
      words = skipCondition(words.slice(1));
    } else if (head === 'for') {
      const at = words.findIndex((w) => w.value.toLowerCase() === 'do');
      words = at < 0 ? [] : words.slice(at + 1);
    } else break;
  }
  return words;
}

function unwrapCmd(raw: CmdRaw, vars: Map<string, string>): SimpleCommand {
  const words = unwrapWords(raw.words.map((w) => ({ ...w, value: expandVars(w.value, vars) })));
  const [first, ...rest] = words;
  const name =
    (first?.value ?? '')
      .replace(/^@+/, '')
      .split(/[\\/]/)
      .pop()
      ?.toLowerCase()
      .replace(/\.(?:exe|com)$/, '') ?? '';
  // `/s/q` is `/s /q`.
  const args = rest.flatMap((w) =>
    /^(?:\/[a-z?])+$/i.test(w.value) ? (w.value.match(/\/[a-z?]/gi) ?? []) : [w.value],
  );
  return {
    name: ALIASES[name] ?? name,
    args: args.map((a) => a.toLowerCase()),
    redirects: raw.redirects,
    wrappers: [],
  };
}

const ALIASES: Record<string, string> = { net1: 'net', 'sc.exe': 'sc' };

/** Variables set earlier in the same text (`set x=rd & call %x% ...`) and the well-known ones. */
function expandVars(value: string, vars: Map<string, string>): string {
  return expandWindowsVars(
    value.replace(/[%!]([a-z_]\w*)[%!]/gi, (m, name: string) => vars.get(name.toLowerCase()) ?? m),
  );
}

function collectVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/\bset\s+"?([a-z_]\w*)=([^&|\n"]*)/gi))
    vars.set((m[1] ?? '').toLowerCase(), (m[2] ?? '').trim());
  return vars;
}

function skipCondition(words: CmdWord[]): CmdWord[] {
  let rest = words;
  while (/^(?:\/i|not)$/i.test(rest[0]?.value ?? '')) rest = rest.slice(1);
  const head = (rest[0]?.value ?? '').toLowerCase();
  if (['exist', 'defined', 'errorlevel', 'cmdextversion'].includes(head)) return rest.slice(2);
  if ((rest[0]?.value ?? '').includes('==')) return rest.slice(1);
  return /^(?:==|equ|neq|lss|leq|gtr|geq)$/i.test(rest[1]?.value ?? '') ? rest.slice(3) : rest.slice(1);
}

const PSEXEC_VALUED = new Set(['-u', '-p', '-w', '-n', '-c', '-f', '-r', '-a', '-g']);

/** Commands that run another command line: `wmic process call create`, `schtasks /tr`, `psexec`, `runas`. */
function launchedLine(c: SimpleCommand, raw: string[]): string | null {
  const lower = raw.map((a) => a.toLowerCase());
  if (c.name === 'wmic' && lower.includes('create')) return raw[lower.indexOf('create') + 1] ?? null;
  if (c.name === 'schtasks' && lower.includes('/tr')) return raw[lower.indexOf('/tr') + 1] ?? null;
  if (c.name === 'runas') return raw.at(-1) ?? null;
  if (c.name === 'psexec' || c.name === 'psexec64' || c.name === 'paexec') {
    let i = 0;
    while (i < raw.length && /^(?:-|\\\\|@)/.test(raw[i] ?? ''))
      i += PSEXEC_VALUED.has(lower[i] ?? '') ? 2 : 1;
    return raw.slice(i).join(' ') || null;
  }
  return null;
}

function nestedCmd(c: SimpleCommand, raw: string[], nest: Nesting): SafetyFinding[] | null {
  const line = launchedLine(c, raw);
  if (line !== null) {
    return [
      finding('process-start', 'caution', `${c.name} starts another command`),
      ...nest.inner(line, 'cmd'),
    ];
  }
  if (c.name === 'cmd') {
    const at = raw.findIndex((a) => /^\/[ckr]$/i.test(a));
    return at < 0
      ? [finding('interactive-shell', 'caution', 'opens a command prompt')]
      : nest.inner(raw.slice(at + 1).join(' '), 'cmd');
  }
  if (c.name === 'powershell' || c.name === 'pwsh') return analyzePowerShellInvocation(raw, nest.deeper());
  if (c.name === 'wsl' || c.name === 'bash')
    return nest.inner(raw.join(' ').replace(/^(?:-e|--exec|--)\s+/, ''), 'bash');
  return null;
}

/** Rules over the raw text: shapes a command split hides. */
const CMD_TEXT_RULES: Rule<string>[] = [
  {
    rule: 'fork-bomb',
    level: 'dangerous',
    reason: 'spawns processes without end',
    match: (t) =>
      /%0\s*\|\s*%0/.test(t) ||
      /(?:^|[&\n(])\s*(?:start\s+(?:"[^"]*"\s+)?)?%0\b/i.test(t) ||
      /^:(\w+)[\s\S]*\bstart\b[\s\S]*\bgoto\s+:?\1\b/im.test(t),
  },
  {
    rule: 'obfuscated-command',
    level: 'dangerous',
    reason: 'builds command names from variable substrings',
    match: (t) => /%[a-z_]+:~-?\d+(?:,-?\d+)?%/i.test(t),
  },
];

const DOWNLOADERS = /^(?:curl|wget|certutil|bitsadmin)$/;
const SHELLS = /^(?:cmd|powershell|pwsh|bash|sh|python|wscript|cscript)$/;

export function analyzeCmd(text: string, nest: Nesting): SafetyFinding[] {
  const findings: SafetyFinding[] = applyRules(CMD_TEXT_RULES, text);
  const parse = tokenizeCmd(text);
  const vars = collectVars(text);
  if (parse.unterminated) findings.push(finding('unterminated-syntax', 'caution', 'an open quote'));
  for (const pipeline of parse.pipelines) {
    const stages = pipeline.map((raw) => unwrapCmd(raw, vars));
    const from = stages.findIndex((s) => DOWNLOADERS.test(s.name));
    if (from >= 0 && stages.slice(from + 1).some((s) => SHELLS.test(s.name))) {
      findings.push(finding('download-execute', 'dangerous', 'pipes a download into an interpreter'));
    }
    pipeline.forEach((raw, i) =>
      findings.push(...commandFindings(stages[i] as SimpleCommand, raw, vars, nest)),
    );
  }
  return findings;
}

/** The words after the command name, case kept, for commands that carry a command line. */
function rest(raw: CmdRaw, vars: Map<string, string>): CmdWord[] {
  return unwrapWords(raw.words.map((w) => ({ ...w, value: expandVars(w.value, vars) }))).slice(1);
}

function commandFindings(
  command: SimpleCommand,
  raw: CmdRaw,
  vars: Map<string, string>,
  nest: Nesting,
): SafetyFinding[] {
  if (
    command.name === '' ||
    command.name === 'rem' ||
    command.name.startsWith('::') ||
    command.name.startsWith(':')
  )
    return [];
  const rawArgs = rest(raw, vars).map((w) => w.value);
  const inner = nestedCmd(command, rawArgs, nest);
  if (inner) return inner;
  const findings = applyRules(WINDOWS_NATIVE_RULES, command);
  if (/^(?:%|!)/.test(command.name))
    findings.push(finding('dynamic-command', 'caution', 'the command name is a variable'));
  else if (findings.length === 0 && !isWindowsReadOnly(command)) findings.push(unrecognised(command.name));
  return findings;
}
