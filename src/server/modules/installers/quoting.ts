import type { BuildOs } from '../agent-builds/agent-builds.js';
import { AppError } from '../../lib/errors.js';

/* eslint-disable no-control-regex -- control characters are what these checks refuse */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/* eslint-enable no-control-regex */

/**
 * Refuses a value an installer would embed if it holds a control character: no quoting makes a
 * newline or an escape sequence harmless in every shell and terminal it passes through.
 */
export function embeddable(what: string, value: string): string {
  if (CONTROL.test(value))
    throw new AppError('unprocessable', `${what} holds a control character and cannot go into an installer`, {
      details: [{ field: what, message: 'control character' }],
    });
  return value;
}

/** A POSIX sh word holding exactly `value`: inside single quotes nothing is special but `'`. */
export function shQuote(value: string): string {
  return `'${embeddable('value', value).replaceAll("'", `'\\''`)}'`;
}

/**
 * A PowerShell verbatim string holding exactly `value`: inside single quotes only a quote is
 * special, doubled; PowerShell also takes the typographic single quotes as quotes, so they are
 * doubled too.
 */
export function psQuote(value: string): string {
  return `'${embeddable('value', value).replace(/['\u2018\u2019\u201a\u201b]/g, (quote) => quote + quote)}'`;
}

/** The one-line command for a platform: every value quoted for the shell it is pasted into. */
export function oneLiner(os: BuildOs, token: string, scriptUrl: string): string {
  if (os === 'windows')
    return `iwr -UseBasicParsing -Headers @{Authorization=${psQuote(`Bearer ${token}`)}} ${psQuote(scriptUrl)} | iex`;
  return `curl -fsSL -H ${shQuote(`Authorization: Bearer ${token}`)} ${shQuote(scriptUrl)} | sudo sh`;
}
