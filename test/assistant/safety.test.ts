import { describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../src/server/modules/assistant/safety/analyzer.js';
import {
  stricter,
  type SafetyLevel,
  type ShellFamily,
} from '../../src/server/modules/assistant/safety/verdict.js';
import type { SafetyCase } from './safety.cases.js';
import { CMD_CASES } from './safety.cases.cmd.js';
import { POSIX_CASES } from './safety.cases.posix.js';
import { POWERSHELL_CASES } from './safety.cases.powershell.js';
import { PYTHON_CASES } from './safety.cases.python.js';

const FAMILIES: [ShellFamily, SafetyCase[]][] = [
  ['bash', POSIX_CASES],
  ['powershell', POWERSHELL_CASES],
  ['cmd', CMD_CASES],
  ['python', PYTHON_CASES],
];

describe('assistant safety analyzer', () => {
  for (const [shell, cases] of FAMILIES) {
    describe(shell, () => {
      it('has at least 100 rows, dangerous ones and benign look-alikes', () => {
        expect(cases.length).toBeGreaterThanOrEqual(100);
        expect(cases.filter(([, level]) => level === 'dangerous').length).toBeGreaterThanOrEqual(40);
        expect(cases.filter(([, level]) => level !== 'dangerous').length).toBeGreaterThanOrEqual(30);
      });

      it('classifies every row at its expected level, with its rule', () => {
        const wrong: string[] = [];
        for (const [command, level, rule] of cases) {
          const verdict = analyzeCommand(command, shell);
          const rules = verdict.findings.map((f) => f.rule);
          if (verdict.level !== level || (rule && !rules.includes(rule))) {
            wrong.push(
              `${JSON.stringify(command)}: expected ${level} ${rule ?? ''}, got ${verdict.level} [${rules.join(', ')}]`,
            );
          }
        }
        expect(wrong).toEqual([]);
      });

      it('names the rule expected of every dangerous row', () => {
        expect(cases.filter(([, level, rule]) => level === 'dangerous' && !rule).map(([c]) => c)).toEqual([]);
      });

      it('never calls a dangerous row safe or caution', () => {
        const missed = cases.filter(
          ([command, level]) => level === 'dangerous' && analyzeCommand(command, shell).level !== 'dangerous',
        );
        expect(missed.map(([command]) => command)).toEqual([]);
      });

      it('gives every finding a reason, and a verdict level equal to its strictest finding', () => {
        for (const [command] of cases) {
          const verdict = analyzeCommand(command, shell);
          for (const f of verdict.findings) expect(f.reason.length).toBeGreaterThan(0);
          expect(verdict.level).toBe(
            verdict.findings.reduce<SafetyLevel>((acc, f) => stricter(acc, f.level), 'safe'),
          );
        }
      });
    });
  }

  it('treats sh like bash', () => {
    for (const [command, level] of POSIX_CASES) expect(analyzeCommand(command, 'sh').level).toBe(level);
  });

  it('never classifies an unknown command as safe, in any family', () => {
    expect(analyzeCommand('frobnicate', 'bash').level).toBe('caution');
    expect(analyzeCommand('Invoke-Frobnicate', 'powershell').level).toBe('caution');
    expect(analyzeCommand('frobnicate.exe /all', 'cmd').level).toBe('caution');
    expect(analyzeCommand('import frob\nfrob.nicate()', 'python').level).toBe('caution');
  });

  it('is deterministic and fast', () => {
    const all = FAMILIES.flatMap(([shell, cases]) => cases.map(([command]) => [command, shell] as const));
    const started = performance.now();
    for (const [command, shell] of all)
      expect(analyzeCommand(command, shell)).toEqual(analyzeCommand(command, shell));
    expect(performance.now() - started).toBeLessThan(1000);
    const padded = 'echo ok; '.repeat(2000) + 'rm -rf /';
    expect(analyzeCommand(padded, 'bash').findings.map((f) => f.rule)).toContain('system-path-deletion');
  });

  it('judges a text too long to analyze dangerous, so padding cannot hide a command', () => {
    const verdict = analyzeCommand(`# ${'x'.repeat(20_000)}\nrm -rf /`, 'bash');
    expect(verdict.level).toBe('dangerous');
    expect(verdict.findings.map((f) => f.rule)).toEqual(['oversized-command']);
  });
});

describe('stricter', () => {
  it('returns the stricter of two levels, whatever the order', () => {
    expect(stricter('safe', 'safe')).toBe('safe');
    expect(stricter('safe', 'caution')).toBe('caution');
    expect(stricter('caution', 'safe')).toBe('caution');
    expect(stricter('caution', 'dangerous')).toBe('dangerous');
    expect(stricter('dangerous', 'safe')).toBe('dangerous');
    expect(stricter('dangerous', 'caution')).toBe('dangerous');
    expect(stricter('dangerous', 'dangerous')).toBe('dangerous');
  });

  it('lets a model raise the analyzer’s level but never lower it', () => {
    const analyzer = analyzeCommand('rm -rf /', 'bash').level;
    expect(stricter(analyzer, 'safe')).toBe('dangerous');
    expect(stricter(analyzeCommand('ls', 'bash').level, 'dangerous')).toBe('dangerous');
  });
});
