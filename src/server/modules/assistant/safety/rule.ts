import type { SafetyFinding, SafetyLevel } from './verdict.js';

/** A redirection of a simple command: `> file`, `>> file`, `< file`, `2>&1`. */
export interface Redirect {
  op: string;
  target: string;
}

/**
 * One simple command after normalisation: `name` is the lower-cased command name without its
 * directory (or `.exe`), `args` the words after it with quotes and escapes removed.
 */
export interface SimpleCommand {
  name: string;
  args: string[];
  redirects: Redirect[];
  /** Wrappers stripped before the name (sudo, env, nohup, call, start, ...). */
  wrappers: string[];
}

/** A named rule: `match` returns true, or a detail for the reason, when it fires. */
export interface Rule<C> {
  rule: string;
  level: SafetyLevel;
  reason: string;
  match: (command: C) => boolean | string | null;
  /** A catch-all that fires only when no other rule of its list did. */
  fallback?: boolean;
}

export function applyRules<C>(rules: readonly Rule<C>[], command: C): SafetyFinding[] {
  const findings: SafetyFinding[] = [];
  const fallbacks: SafetyFinding[] = [];
  for (const { rule, level, reason, match, fallback } of rules) {
    const hit = match(command);
    if (hit === false || hit === null) continue;
    (fallback ? fallbacks : findings).push({
      rule,
      level,
      reason: typeof hit === 'string' ? `${reason}: ${hit}` : reason,
    });
  }
  return findings.length ? findings : fallbacks;
}

export function finding(rule: string, level: SafetyLevel, reason: string): SafetyFinding {
  return { rule, level, reason };
}

/** The fallback for a command no rule and no read-only list knows: never `safe`. */
export function unrecognised(name: string): SafetyFinding {
  return finding('unrecognised-command', 'caution', `'${name}' is not a known read-only command`);
}

/** The first result of `check` over the values, for rules that look at every argument. */
export function firstOf<T>(values: readonly T[], check: (value: T) => string | null): string | null {
  for (const value of values) {
    const hit = check(value);
    if (hit) return hit;
  }
  return null;
}
