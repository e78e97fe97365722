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
 * How deep the command being analyzed is nested (in a `bash -c` string, a `-EncodedCommand`…), and
 * the way back into the analyzer for what it nests: shell families call each other through this.
 */
export interface Nesting {
  /** Findings for a command nested one level deeper, in any family. */
  inner(command: string, shell: ShellFamily): SafetyFinding[];
  /** This nesting one level deeper, for a family's own entry point (a shell's arguments). */
  deeper(): Nesting;
}

/** One finding per rule (the first reason wins), the verdict's level being the strictest finding. */
export function verdict(findings: SafetyFinding[]): SafetyVerdict {
  const byRule = new Map<string, SafetyFinding>();
  for (const finding of findings) {
    const seen = byRule.get(finding.rule);
    if (!seen || RANK[finding.level] > RANK[seen.level]) byRule.set(finding.rule, finding);
  }
  const unique = [...byRule.values()].sort((a, b) => RANK[b.level] - RANK[a.level]);
  return { level: levelOf(unique), findings: unique };
}

/** The strictest level among findings, `safe` when there are none. */
export function levelOf(findings: SafetyFinding[]): SafetyLevel {
  return findings.reduce<SafetyLevel>((acc, f) => stricter(acc, f.level), 'safe');
}
