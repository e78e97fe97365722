/** Argument helpers for bash/sh commands: operands, option clusters, the subcommand. */
import type { SimpleCommand } from './rule.js';

/** Operands: the arguments that are not options (everything after `--`). */
export function operands(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  const before = (end < 0 ? args : args.slice(0, end)).filter((a) => !a.startsWith('-') || a === '-');
  return end < 0 ? before : [...before, ...args.slice(end + 1)];
}

/** A short option letter in any cluster (`-fr`, `-r -f`) or a long option. */
export function hasFlag(args: readonly string[], letters: string, long: string[] = []): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some(
    (a) =>
      (/^-[^-]/.test(a) && [...letters].some((l) => a.slice(1).includes(l))) ||
      long.some((l) => a === l || a.startsWith(`${l}=`)),
  );
}

export const sub = (c: SimpleCommand) => operands(c.args)[0] ?? '';
/** Redirection targets that write nowhere. */
export const SAFE_SINK = /^(?:\/dev\/(?:null|stdout|stderr|tty|fd\/[0-2])|&[0-9-]*)$/;
