import { Type, type TStringOptions } from 'typebox';

/**
 * What a string taken from a client may hold. Every string of every request (body, query and path,
 * the agent's frames too) follows a text rule, named by the `x-text` keyword of its schema and
 * enforced by the validation edge (src/server/http/validation.ts):
 *
 * - `plain`, the default: no C0 control character other than tab, newline and carriage return, no
 *   DEL, no unpaired UTF-16 surrogate. PostgreSQL cannot store NUL in text, and the others have
 *   no business in a name, a note or a search.
 * - `shell`: what a shell accepts, for script content and commands: any control character but NUL,
 *   which no process argument, environment value or C string can hold (and no unpaired surrogate).
 * - `output`: what programs print, kept as printed (escape sequences included); NUL and unpaired
 *   surrogates become U+FFFD instead of being refused, since an agent cannot take back output.
 */
export type TextRule = 'plain' | 'shell' | 'output';

export const TEXT_KEYWORD = 'x-text';

/* eslint-disable no-control-regex -- control characters are what these rules are about */
const REFUSED: Record<Exclude<TextRule, 'output'>, RegExp> = {
  plain: /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\p{Cs}/u,
  shell: /\u0000|\p{Cs}/u,
};
const UNSTORABLE = /\u0000|\p{Cs}/gu;
/* eslint-enable no-control-regex */

/** Why a text breaks its rule, or undefined when it follows it. */
export function textProblem(rule: TextRule, text: string): string | undefined {
  if (rule === 'output') return undefined;
  const found = REFUSED[rule].exec(text)?.[0];
  if (found === undefined) return undefined;
  const code = `U+${found.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (/\p{Cs}/u.test(found)) return `must not contain an unpaired UTF-16 surrogate (${code})`;
  return rule === 'shell'
    ? `must not contain NUL (${code})`
    : `must not contain control characters other than tab, newline and carriage return (${code})`;
}

/** Output as it can be stored: NUL and unpaired surrogates replaced by U+FFFD. */
export function storableOutput(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** Script content, a command, a file's text: any control character a shell accepts, never NUL. */
export function ShellText(options: TStringOptions = {}) {
  return Type.String({ ...options, [TEXT_KEYWORD]: 'shell' });
}

/** What an agent's program printed: stored as printed, NUL and unpaired surrogates replaced. */
export function OutputText(options: TStringOptions = {}) {
  return Type.String({ ...options, [TEXT_KEYWORD]: 'output' });
}
