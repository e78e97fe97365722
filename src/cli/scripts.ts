import type { Static } from 'typebox';
import type { ParameterValue, ScriptSchema } from '../server/modules/scripts/scripts.schemas.js';
import { scriptKinds, scriptLanguages } from '../server/modules/scripts/scripts.schemas.js';
import type { ApiClient } from './client.js';
import {
  UsageError,
  choiceFlag,
  defineCommand,
  durationFlag,
  integerFlag,
  noArguments,
  oneArgument,
  type ClientCommand,
} from './command.js';
import type { Run } from './follow.js';
import { table } from './output.js';
import { RUN_SYNOPSIS, followAndReport, runLimits, runOptions } from './run.js';
import { findNamed, resolveTarget } from './targets.js';

type Script = Static<typeof ScriptSchema>;

/**
 * `--param name=value` pairs, typed by the script's definitions: the API takes numbers and
 * booleans as such, and a command line has only text.
 */
export function parameterValues(script: Script, pairs: readonly string[]): Record<string, ParameterValue> {
  const values: Record<string, ParameterValue> = {};
  for (const pair of pairs) {
    const split = pair.indexOf('=');
    if (split < 1) throw new UsageError(`--param takes name=value, not "${pair}"`);
    const name = pair.slice(0, split);
    const text = pair.slice(split + 1);
    const type = script.parameters.find((p) => p.name === name)?.type;
    if (type === 'number') {
      if (text.trim() === '' || !Number.isFinite(Number(text)))
        throw new UsageError(`--param ${name} must be a number`);
      values[name] = Number(text);
    } else if (type === 'boolean') {
      if (text !== 'true' && text !== 'false') throw new UsageError(`--param ${name} must be true or false`);
      values[name] = text === 'true';
    } else values[name] = text;
  }
  return values;
}

function findScript(client: ApiClient, idOrName: string): Promise<Script> {
  return findNamed<Script>(client, {
    route: '/api/v1/scripts',
    noun: 'script',
    idOrName,
    search: (q) => ({ q }),
  });
}

export const scriptsCommands: ClientCommand[] = [
  defineCommand({
    words: ['scripts', 'ls'],
    synopsis: '[--kind script|command] [--language L] [--tag T] [--search TEXT] [--limit N] [--json]',
    summary: 'list library scripts and saved commands',
    options: {
      kind: { type: 'string' },
      language: { type: 'string' },
      tag: { type: 'string' },
      search: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run({ values, positionals }, ctx) {
      noArguments(positionals);
      const query = {
        kind: choiceFlag(values.kind, 'kind', scriptKinds),
        language: choiceFlag(values.language, 'language', scriptLanguages),
        tag: values.tag,
        q: values.search,
      };
      const scripts = await ctx
        .client()
        .list<Script>('/api/v1/scripts', query, integerFlag(values.limit, 'limit'));
      if (values.json) {
        ctx.terminal.json(scripts);
        return 0;
      }
      const rows = scripts.map((script) => [
        script.name,
        script.kind,
        script.language,
        String(script.version),
        script.parameters.map((p) => (p.required ? `${p.name}*` : p.name)).join(',') || '-',
        script.id,
      ]);
      const headers = ['NAME', 'KIND', 'LANGUAGE', 'VERSION', 'PARAMETERS', 'ID'];
      for (const line of table(headers, rows)) ctx.terminal.out(line);
      return 0;
    },
  }),
  defineCommand({
    words: ['scripts', 'run'],
    synopsis: `NAME|ID ${RUN_SYNOPSIS} [--param NAME=VALUE]...`,
    summary: 'run a library script on agents, streaming their output like `run`',
    options: { ...runOptions, param: { type: 'string', multiple: true } },
    async run({ values, positionals, rest }, ctx) {
      if (rest !== null) noArguments(rest);
      const client = ctx.client();
      const script = await findScript(client, oneArgument(positionals, 'a script name or id'));
      const parameters = parameterValues(script, values.param ?? []);
      const timeout = durationFlag(values.timeout, 'timeout');
      const { target } = await resolveTarget(client, values);
      return followAndReport(client, ctx.terminal, { json: values.json === true, print: true }, () =>
        client.request<Run>('POST', `/api/v1/scripts/${script.id}/execute`, {
          body: {
            target,
            parameters,
            ...(timeout === undefined ? {} : { timeout_seconds: timeout }),
            ...runLimits(values),
          },
        }),
      );
    },
  }),
];
