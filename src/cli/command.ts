import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ApiClient } from './client.js';
import type { Terminal } from './output.js';

/** A mistake in the command line: the command's usage is printed and the exit code is 2. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>['values'];

export interface CommandContext {
  /** Built on first use, so commands that call no API (completion) need no credentials. */
  client(): ApiClient;
  terminal: Terminal;
}

export interface CommandInput<O extends Options> {
  values: Values<O>;
  positionals: string[];
  /** The words after `--`, or null when there is no `--`. */
  rest: string[] | null;
}

/** An operator command: its words (`agents ls`), its flags, and what it does. */
export interface ClientCommand {
  words: readonly string[];
  /** What follows the words in the usage: `ID|NAME [--json]`. */
  synopsis: string;
  summary: string;
  options: Options;
  invoke(argv: string[], ctx: CommandContext): Promise<number>;
}

export function usageOf(command: ClientCommand): string {
  return `fleetplane ${command.words.join(' ')} ${command.synopsis}`.trimEnd();
}

export function defineCommand<const O extends Options>(spec: {
  words: readonly string[];
  synopsis: string;
  summary: string;
  options: O;
  run(input: CommandInput<O>, ctx: CommandContext): Promise<number>;
}): ClientCommand {
  const command: ClientCommand = {
    words: spec.words,
    synopsis: spec.synopsis,
    summary: spec.summary,
    options: spec.options,
    async invoke(argv, ctx) {
      const split = argv.indexOf('--');
      const own = split < 0 ? argv : argv.slice(0, split);
      if (own.includes('--help') || own.includes('-h')) {
        ctx.terminal.out(`${usageOf(command)}\n  ${spec.summary}`);
        return 0;
      }
      let parsed: { values: Values<O>; positionals: string[] };
      try {
        parsed = parseArgs({ args: own, options: spec.options, allowPositionals: true, strict: true });
      } catch (error) {
        // node:util reports a bad flag as a TypeError with an ERR_PARSE_ARGS_* code
        if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))
          throw new UsageError((error as Error).message);
        throw error;
      }
      const rest = split < 0 ? null : argv.slice(split + 1);
      return spec.run({ values: parsed.values, positionals: parsed.positionals, rest }, ctx);
    },
  };
  return command;
}

/** The one positional a command takes (an id or a name). */
export function oneArgument(positionals: string[], what: string): string {
  const [first, ...more] = positionals;
  if (first === undefined) throw new UsageError(`${what} is required`);
  if (more.length > 0) throw new UsageError(`unexpected argument: ${more[0]}`);
  return first;
}

export function noArguments(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
}

/** A whole number from a flag, or undefined when the flag is absent. */
export function integerFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new UsageError(`--${flag} must be a whole number of at least ${min}`);
  return Number(value);
}

/** One of `allowed`, or undefined when the flag is absent. */
export function choiceFlag<const T extends string>(
  value: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Seconds from `90`, `90s`, `5m` or `2h`; undefined when the flag is absent. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)([smh]?)$/.exec(value);
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : 0;
  if (seconds < 1) throw new UsageError(`--${flag} must be a duration such as 30, 30s, 5m or 2h`);
  return seconds;
}
