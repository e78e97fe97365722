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
import {
  verdict,
  type Nesting,
  type SafetyFinding,
  type SafetyVerdict,
  type ShellFamily,
} from './verdict.js';

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

function nesting(depth: number): Nesting {
  return {
    inner: (command, shell) => analyzeFindings(command, shell, depth + 1),
    deeper: () => nesting(depth + 1),
  };
}

/** Findings for one command text; families reach this again, through their nesting, for what they nest. */
function analyzeFindings(command: string, shell: ShellFamily, depth: number): SafetyFinding[] {
  if (depth > MAX_DEPTH) {
    return [{ rule: 'nesting-too-deep', level: 'caution', reason: 'commands nested too deeply to analyze' }];
  }
  switch (shell) {
    case 'bash':
    case 'sh':
      return analyzePosix(command, nesting(depth));
    case 'powershell':
      return analyzePowerShell(command, nesting(depth));
    case 'cmd':
      return analyzeCmd(command, nesting(depth));
    case 'python':
      return analyzePython(command, nesting(depth));
  }
}
