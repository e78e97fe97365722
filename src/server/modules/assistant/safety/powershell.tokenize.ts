/**
 * A small PowerShell tokenizer: strings (with `''` and backtick escapes, here-strings), comments,
 * backtick obfuscation (`` I`E`X `` is `IEX`), and groups — `(...)`, `$(...)`, `@(...)`, `{...}`,
 * `@{...}` — whose inner text the caller analyzes as statements of their own. Statements split on
 * `;`, newlines, `&&` and `||`; commands within a statement on `|`.
 */
import type { Redirect } from './rule.js';

export interface PsToken {
  /** The value PowerShell would see: quotes and escapes removed. */
  value: string;
  /** A quoted string is never a parameter name, even when it starts with `-`. */
  kind: 'word' | 'string' | 'group';
}
export interface PsCommandTokens {
  tokens: PsToken[];
  redirects: Redirect[];
}
export interface PsParse {
  /** Each statement is a pipeline of commands. */
  statements: { commands: PsCommandTokens[]; text: string }[];
  /** Inner text of every group, analyzed as statements too. */
  groups: string[];
  unterminated: boolean;
}

const OPENERS: Record<string, string> = { '(': ')', '{': '}' };

/** Index just past the group closing the one opened at `start` (its opener), quotes skipped. */
export function groupEnd(text: string, start: number): number {
  const stack: string[] = [];
  for (let i = start; i < text.length; i += 1) {
    const c = text[i] as string;
    if (c === '`') i += 1;
    else if (c === "'" || c === '"') i = stringEnd(text, i) - 1;
    else if (OPENERS[c]) stack.push(OPENERS[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
  }
  return -1;
}

/** Index just past the string starting at `start` (`'` or `"`), -1 when unterminated. */
function stringEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i += 1) {
    if (quote === '"' && text[i] === '`') i += 1;
    else if (text[i] === quote) {
      if (text[i + 1] === quote) i += 1;
      else return i + 1;
    }
  }
  return -1;
}

class PsTokenizer {
  private i = 0;
  private value = '';
  private kind: PsToken['kind'] | null = null;
  private tokens: PsToken[] = [];
  private redirects: Redirect[] = [];
  private commands: PsCommandTokens[] = [];
  private statementStart = 0;
  private pendingRedirect: string | null = null;
  readonly result: PsParse = { statements: [], groups: [], unterminated: false };

  constructor(private readonly text: string) {}

  run(): PsParse {
    const t = this.text;
    while (this.i < t.length) {
      const c = t[this.i] as string;
      const two = t.slice(this.i, this.i + 2);
      if (c === '`') this.escape();
      else if (two === '<#') this.skipTo('#>');
      else if (c === '#' && this.kind === null) this.skipTo('\n', false);
      else if (two === "@'" || two === '@"') this.hereString(two);
      else if (c === "'" || c === '"') this.quoted();
      else if (c === '{' || c === '(' || two === '$(' || two === '@(' || two === '@{')
        this.group(c === '$' || c === '@' ? 1 : 0);
      else if (c === ' ' || c === '\t' || c === '\r') this.endToken(1);
      else if (
        /^(?:[1-6*]?>>?|>)/.test(t.slice(this.i, this.i + 3)) &&
        (this.kind === null || /^[1-6*]$/.test(this.value))
      )
        this.redirect();
      else if (two === '&&' || two === '||') this.endStatement(2);
      else if (c === ';' || c === '\n') this.endStatement(1);
      else if (c === '|') this.endCommand(1);
      else if (c === '&' && this.kind === null) this.single('&');
      // `.(...)`, `. $x`, `.'name'`: the dot-source operator, not part of a word.
      else if (c === '.' && this.kind === null && /^[\s($'"]/.test(t[this.i + 1] ?? '')) this.single('.');
      else this.append(c, 1);
    }
    this.endStatement(0);
    return this.result;
  }

  private append(chars: string, advance: number, kind: PsToken['kind'] = 'word'): void {
    this.value += chars;
    if (this.kind === null || kind !== 'word') this.kind = kind;
    this.i += advance;
  }

  private escape(): void {
    const next = this.text[this.i + 1];
    if (next === '\n' || (next === '\r' && this.text[this.i + 2] === '\n')) this.i += next === '\n' ? 2 : 3;
    else this.append(next ?? '', 2);
  }

  private skipTo(end: string, past = true): void {
    const at = this.text.indexOf(end, this.i + 1);
    this.i = at < 0 ? this.text.length : at + (past ? end.length : 0);
  }

  private hereString(open: string): void {
    const close = `\n${open[1] ?? ''}@`;
    const at = this.text.indexOf(close, this.i + 2);
    if (at < 0) this.result.unterminated = true;
    const stop = at < 0 ? this.text.length : at;
    this.append(this.text.slice(this.i + 2, stop).trim(), stop + close.length - this.i, 'string');
  }

  private quoted(): void {
    const quote = this.text[this.i] as string;
    const end = stringEnd(this.text, this.i);
    if (end < 0) this.result.unterminated = true;
    const stop = end < 0 ? this.text.length : end;
    let body = this.text.slice(this.i + 1, end < 0 ? stop : stop - 1);
    if (quote === "'") body = body.replace(/''/g, "'");
    else {
      for (const m of body.matchAll(/\$\(/g)) {
        const close = groupEnd(body, (m.index ?? 0) + 1);
        if (close > 0) this.result.groups.push(body.slice((m.index ?? 0) + 2, close - 1));
      }
      body = body.replace(/`(.)/gs, (_m, ch: string) => ch).replace(/""/g, '"');
    }
    this.append(body, stop - this.i, 'string');
  }

  private group(prefix: number): void {
    const open = this.i + prefix;
    const end = groupEnd(this.text, open);
    if (end < 0) this.result.unterminated = true;
    const stop = end < 0 ? this.text.length : end;
    this.result.groups.push(this.text.slice(open + 1, end < 0 ? stop : stop - 1));
    this.append(this.text.slice(this.i, stop), stop - this.i, 'group');
  }

  private single(value: string): void {
    this.endToken(0);
    this.tokens.push({ value, kind: 'word' });
    this.i += 1;
  }

  private redirect(): void {
    const start = this.i - this.value.length;
    const op = /^[1-6*]?>>?(?:&[12])?/.exec(this.text.slice(start))?.[0] ?? '>';
    this.value = '';
    this.kind = null;
    this.i = start + op.length;
    // `2>&1` merges streams; only a file target is a write.
    if (!/&[12]$/.test(op)) this.pendingRedirect = op;
  }

  private endToken(advance: number): void {
    this.i += advance;
    if (this.kind === null) return;
    if (this.pendingRedirect) this.redirects.push({ op: this.pendingRedirect, target: this.value });
    else this.tokens.push({ value: this.value, kind: this.kind });
    this.pendingRedirect = null;
    this.value = '';
    this.kind = null;
  }

  private endCommand(advance: number): void {
    this.endToken(0);
    if (this.tokens.length) this.commands.push({ tokens: this.tokens, redirects: this.redirects });
    this.tokens = [];
    this.redirects = [];
    this.i += advance;
  }

  private endStatement(advance: number): void {
    this.endCommand(0);
    if (this.commands.length) {
      this.result.statements.push({
        commands: this.commands,
        text: this.text.slice(this.statementStart, this.i),
      });
    }
    this.commands = [];
    this.i += advance;
    this.statementStart = this.i;
  }
}

export function tokenizePowerShell(text: string): PsParse {
  return new PsTokenizer(text).run();
}
