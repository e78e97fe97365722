/**
 * The command assistant's deterministic safety analyzer: a command for one shell family is
 * tokenized by that family's own tokenizer, split into simple commands (chains, pipes,
 * substitutions, script blocks and `-c` strings included), normalised (wrappers such as sudo or
 * env stripped, paths and case folded, aliases resolved) and checked against named rules.
 * It is pure and fast, so the model's answer can never lower what it decides.
 */
import { analyzeCmd } from './cmd.js';
import { analyzePosix } from './posix.js';
import { analyzePowerShell } from './powershell.js';
import { analyzePython } from './python.js';

export type SafetyLevel = 'safe' | 'caution' | 'dangerous';
export type ShellFamily = 'bash' | 'sh' | 'powershell' | 'cmd' | 'python';
export interface SafetyFinding {
  rule: string;
  level: SafetyLevel;
  reason: string;
}
export interface SafetyVerdict {
  level: SafetyLevel;
  findings: SafetyFinding[];
}

const RANK: Record<SafetyLevel, number> = { safe: 0, caution: 1, dangerous: 2 };

/** The stricter of two levels: the model may raise a level, never lower it. */
export function stricter(a: SafetyLevel, b: SafetyLevel): SafetyLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Commands longer than this are not analyzed: the analysis stays fast on any input, and a long
 * text is judged dangerous so that padding can never hide a command behind a milder label.
 */
const MAX_COMMAND_CHARS = 20_000;

export function analyzeCommand(command: string, shell: ShellFamily): SafetyVerdict {
  if (command.length > MAX_COMMAND_CHARS) {
    return verdict([
      {
        rule: 'oversized-command',
        level: 'dangerous',
        reason: `${command.length} characters is more than the ${MAX_COMMAND_CHARS} the analyzer reads: a person must read it`,
      },
    ]);
  }
  return verdict(analyzeFindings(command, shell, 0));
}

/** Recursion guard for commands nested in strings (`bash -c`, `powershell -Command`, `exec(...)`). */
export const MAX_DEPTH = 8;

/** Findings for one command text; families call back into this for commands nested in another family. */
export function analyzeFindings(command: string, shell: ShellFamily, depth: number): SafetyFinding[] {
  if (depth > MAX_DEPTH) {
    return [{ rule: 'nesting-too-deep', level: 'caution', reason: 'commands nested too deeply to analyze' }];
  }
  switch (shell) {
    case 'bash':
    case 'sh':
      return analyzePosix(command, depth);
    case 'powershell':
      return analyzePowerShell(command, depth);
    case 'cmd':
      return analyzeCmd(command, depth);
    case 'python':
      return analyzePython(command, depth);
  }
}

/** One finding per rule (the first reason wins), the verdict's level being the strictest finding. */
export function verdict(findings: SafetyFinding[]): SafetyVerdict {
  const byRule = new Map<string, SafetyFinding>();
  for (const finding of findings) {
    const seen = byRule.get(finding.rule);
    if (!seen || RANK[finding.level] > RANK[seen.level]) byRule.set(finding.rule, finding);
  }
  const unique = [...byRule.values()].sort((a, b) => RANK[b.level] - RANK[a.level]);
  const level = unique.reduce<SafetyLevel>((acc, f) => stricter(acc, f.level), 'safe');
  return { level, findings: unique };
}

/** The strictest level among findings, `safe` when there are none. */
export function levelOf(findings: SafetyFinding[]): SafetyLevel {
  return findings.reduce<SafetyLevel>((acc, f) => stricter(acc, f.level), 'safe');
}
