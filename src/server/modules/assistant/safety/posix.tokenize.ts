/**
 * A small bash/sh tokenizer: enough of the grammar to find every simple command a line would run.
 * It removes quotes and backslashes the way the shell does (`r''m`, `r\m` and `$'\x72m'` are all
 * `rm`), splits on `;`, `&`, `&&`, `||`, `|`, newlines and parentheses, collects redirections, and
 * returns the text of `$(...)`, backticks and `<(...)` so the caller analyzes them as commands too.
 */
import type { Redirect } from './rule.js';

export interface RawCommand {
  words: string[];
  redirects: Redirect[];
}
export interface PosixParse {
  /** Commands grouped by pipeline: `a | b; c` is `[[a, b], [c]]`. */
  pipelines: RawCommand[][];
  /** Inner text of command and process substitutions, each to analyze as a command. */
  substitutions: string[];
  /** Syntax the tokenizer could not close (an open quote or substitution). */
  unterminated: boolean;
}

const ANSI_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  e: '\x1b',
  '\\': '\\',
  "'": "'",
};

/** Index of the `)` closing the group opened just before `start`, skipping quoted text. */
function closingParen(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === "'") i = text.indexOf("'", i + 1) < 0 ? text.length : text.indexOf("'", i + 1);
    else if (c === '(') depth += 1;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

function decodeAnsi(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|[0-7]{1,3}|.)/g, (_m, esc: string) => {
    if (/^[xu]/.test(esc)) return String.fromCharCode(parseInt(esc.slice(1), 16));
    if (/^[0-7]/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
    return ANSI_ESCAPES[esc] ?? esc;
  });
}

class Tokenizer {
  private i = 0;
  private word = '';
  private inWord = false;
  private words: string[] = [];
  private redirects: Redirect[] = [];
  private pipeline: RawCommand[] = [];
  private pendingRedirect: string | null = null;
  readonly result: PosixParse = { pipelines: [], substitutions: [], unterminated: false };

  constructor(private readonly text: string) {}

  run(): PosixParse {
    const t = this.text;
    while (this.i < t.length) {
      const c = t[this.i] as string;
      const next = t[this.i + 1];
      if (c === '\\' && next === '\n') this.i += 2;
      else if (c === '\\') this.append(next ?? '', 2);
      else if (c === "'") this.singleQuoted();
      else if (c === '"') this.doubleQuoted();
      else if (c === '$' && next === "'") this.ansiQuoted();
      else if (c === '$' && next === '(') this.substitution(2);
      else if (c === '`') this.backtick();
      else if ((c === '<' || c === '>') && next === '(') this.substitution(2, '<(…)');
      else if (c === '$' && /^\$(?:IFS\b|\{IFS\})/.test(t.slice(this.i, this.i + 6))) this.skipIfs();
      else if (c === '#' && !this.inWord)
        this.i = t.indexOf('\n', this.i) < 0 ? t.length : t.indexOf('\n', this.i);
      else if (c === ' ' || c === '\t') this.endWord(1);
      else if (c === '>' || c === '<' || (c === '&' && next === '>')) this.redirect();
      else if (c === '|' || c === '&' || c === ';' || c === '\n' || c === '(' || c === ')')
        this.operator(c, next);
      else this.append(c, 1);
    }
    this.endPipeline();
    return this.result;
  }

  private append(chars: string, advance: number): void {
    this.word += chars;
    this.inWord = true;
    this.i += advance;
  }

  private singleQuoted(): void {
    const end = this.text.indexOf("'", this.i + 1);
    if (end < 0) this.result.unterminated = true;
    const stop = end < 0 ? this.text.length : end;
    this.append(this.text.slice(this.i + 1, stop), stop + 1 - this.i);
  }

  private ansiQuoted(): void {
    const match = /^\$'((?:[^'\\]|\\.)*)'/s.exec(this.text.slice(this.i));
    if (!match) return this.singleQuoted();
    this.append(decodeAnsi(match[1] ?? ''), match[0].length);
  }

  private doubleQuoted(): void {
    const t = this.text;
    this.inWord = true;
    this.i += 1;
    while (this.i < t.length && t[this.i] !== '"') {
      const c = t[this.i] as string;
      if (c === '\\' && /["\\$`\n]/.test(t[this.i + 1] ?? ''))
        this.append(t[this.i + 1] === '\n' ? '' : (t[this.i + 1] ?? ''), 2);
      else if (c === '$' && t[this.i + 1] === '(') this.substitution(2);
      else if (c === '`') this.backtick();
      else this.append(c, 1);
    }
    if (this.i >= t.length) this.result.unterminated = true;
    this.i += 1;
  }

  private substitution(open: number, placeholder?: string): void {
    const start = this.i + open;
    const end = closingParen(this.text, start);
    if (end < 0) this.result.unterminated = true;
    const stop = end < 0 ? this.text.length : end;
    const inner = this.text.slice(start, stop);
    // $((...)) is arithmetic, not a command.
    if (!inner.startsWith('(')) this.result.substitutions.push(inner);
    this.append(placeholder ?? `$(${inner})`, stop + 1 - this.i);
  }

  private backtick(): void {
    const end = this.text.indexOf('`', this.i + 1);
    if (end < 0) this.result.unterminated = true;
    const stop = end < 0 ? this.text.length : end;
    const inner = this.text.slice(this.i + 1, stop).replace(/\\([`\\$])/g, '$1');
    this.result.substitutions.push(inner);
    this.append(`$(${inner})`, stop + 1 - this.i);
  }

  /** An unquoted `$IFS` splits words: `rm${IFS}-rf${IFS}/` is `rm -rf /`. */
  private skipIfs(): void {
    const len = this.text.startsWith('${IFS}', this.i) ? 6 : 4;
    this.endWord(len);
  }

  private redirect(): void {
    const match = /^(?:&>>?|[<>]&-?\d*|>>|>\||<<<|<<-?|<>|>|<)/.exec(this.text.slice(this.i));
    const op = match?.[0] ?? this.text[this.i] ?? '>';
    // A word of digits before the operator is a file descriptor, not an argument.
    if (/^\d+$/.test(this.word)) {
      this.word = '';
      this.inWord = false;
    } else this.endWord(0);
    this.i += op.length;
    if (/\d$|-$/.test(op)) this.redirects.push({ op, target: op.replace(/^[<>]&/, '&') });
    else this.pendingRedirect = op;
  }

  private operator(c: string, next: string | undefined): void {
    this.endWord(0);
    if (c === '|' && next !== '|') {
      this.endCommand();
      this.i += next === '&' ? 2 : 1;
      return;
    }
    this.endPipeline();
    this.i += (c === '|' || c === '&') && next === c ? 2 : 1;
  }

  private endWord(advance: number): void {
    this.i += advance;
    if (!this.inWord) return;
    if (this.pendingRedirect) {
      this.redirects.push({ op: this.pendingRedirect, target: this.word });
      this.pendingRedirect = null;
    } else this.words.push(this.word);
    this.word = '';
    this.inWord = false;
  }

  private endCommand(): void {
    this.endWord(0);
    if (this.words.length || this.redirects.length)
      this.pipeline.push({ words: this.words, redirects: this.redirects });
    this.words = [];
    this.redirects = [];
  }

  private endPipeline(): void {
    this.endCommand();
    if (this.pipeline.length) this.result.pipelines.push(this.pipeline);
    this.pipeline = [];
  }
}

export function tokenizePosix(text: string): PosixParse {
  return new Tokenizer(text).run();
}
