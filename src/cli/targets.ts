import type { Static } from 'typebox';
import { isWindows, osTypes, type Interpreter } from '../protocol/jobs.js';
import type { AgentSchema, GroupSchema } from '../server/modules/agents/agents.schemas.js';
import type { TargetSchema } from '../server/modules/execution/runs.schemas.js';
import type { ApiClient, Query } from './client.js';
import { UsageError, choiceFlag } from './command.js';

export type Agent = Static<typeof AgentSchema>;
type Group = Static<typeof GroupSchema>;

/** The selector of `POST /api/v1/runs` and of every other run-starting body. */
export type Target = Static<typeof TargetSchema>;

export const targetOptions = {
  agent: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  group: { type: 'string' },
  os: { type: 'string' },
  all: { type: 'boolean' },
} as const;

export const TARGET_SYNOPSIS = '(--agent ID|NAME... | --tag T... | --group NAME|ID | --all) [--os OS]';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one item of a list whose name (or one of `namesOf`) is `idOrName`, or the item with that id.
 * A name two items share is refused: the operator must say which by id.
 */
export async function findNamed<T extends { id: string; name: string }>(
  client: ApiClient,
  options: {
    route: string;
    noun: string;
    idOrName: string;
    /** Narrows the list on the server when it can search. */
    search?: (name: string) => Query;
    namesOf?: (item: T) => string[];
  },
): Promise<T> {
  const { route, noun, idOrName } = options;
  if (UUID.test(idOrName)) return client.get<T>(`${route}/${idOrName}`);
  const candidates = await client.list<T>(route, options.search?.(idOrName) ?? {});
  const namesOf = options.namesOf ?? ((item: T) => [item.name]);
  let found = candidates.filter((item) => item.name === idOrName);
  if (found.length === 0) found = candidates.filter((item) => namesOf(item).includes(idOrName));
  const [one, ...more] = found;
  if (!one) throw new Error(`no ${noun} is named "${idOrName}"`);
  if (more.length > 0)
    throw new Error(
      `${found.length} ${noun}s are named "${idOrName}"; give an id: ${found.map((item) => item.id).join(', ')}`,
    );
  return one;
}

export function findAgent(client: ApiClient, idOrName: string): Promise<Agent> {
  return findNamed<Agent>(client, {
    route: '/api/v1/agents',
    noun: 'agent',
    idOrName,
    search: (q) => ({ q }),
    namesOf: (agent) => [agent.hostname],
  });
}

export async function findGroupId(client: ApiClient, idOrName: string): Promise<string> {
  const group = await findNamed<Group>(client, { route: '/api/v1/agent-groups', noun: 'group', idOrName });
  return group.id;
}

interface TargetValues {
  agent?: string[];
  tag?: string[];
  group?: string;
  os?: string;
  all?: boolean;
}

/** The selector the flags name, and the agents named by `--agent` (looked up to find their ids). */
export async function resolveTarget(
  client: ApiClient,
  values: TargetValues,
): Promise<{ target: Target; named: Agent[] }> {
  if (!values.agent?.length && !values.tag?.length && values.group === undefined && !values.all)
    throw new UsageError('say where to run: --agent, --tag, --group or --all');
  const target: Target = {};
  const named: Agent[] = [];
  for (const idOrName of values.agent ?? []) named.push(await findAgent(client, idOrName));
  if (named.length > 0) target.agent_ids = named.map((agent) => agent.id);
  if (values.tag?.length) target.tags = values.tag;
  if (values.group !== undefined) target.group_id = await findGroupId(client, values.group);
  const os = choiceFlag(values.os, 'os', osTypes);
  if (os !== undefined) target.os_type = os;
  if (values.all) target.all = true;
  return { target, named };
}

/**
 * The shell a command runs in when none is given: PowerShell when every agent targeted runs
 * Windows, sh otherwise. Agents not named are sampled from the first page the selector lists.
 */
export async function defaultShell(
  client: ApiClient,
  target: Target,
  named: readonly Agent[],
): Promise<Interpreter> {
  let osTypesSeen: string[];
  if (target.os_type !== undefined) osTypesSeen = [target.os_type];
  else if (named.length > 0) osTypesSeen = named.map((agent) => agent.os_type);
  else {
    const [firstTag, ...otherTags] = target.tags ?? [];
    const page = await client.get<{ items: Agent[] }>('/api/v1/agents', {
      limit: 200,
      tag: firstTag,
      group_id: target.group_id,
    });
    osTypesSeen = page.items
      .filter((agent) => otherTags.every((tag) => agent.tags.includes(tag)))
      .map((agent) => agent.os_type);
  }
  return osTypesSeen.length > 0 && osTypesSeen.every(isWindows) ? 'powershell' : 'sh';
}
