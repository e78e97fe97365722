import { osTypes } from '../protocol/jobs.js';
import { agentStatuses } from '../server/modules/agents/agents.schemas.js';
import {
  choiceFlag,
  defineCommand,
  integerFlag,
  noArguments,
  oneArgument,
  type ClientCommand,
} from './command.js';
import { ago, fields, table } from './output.js';
import { findAgent, findGroupId, type Agent } from './targets.js';

function connectedFlag(value: string | undefined): boolean | undefined {
  const choice = choiceFlag(value, 'connected', ['true', 'false'] as const);
  return choice === undefined ? undefined : choice === 'true';
}

function agentRow(agent: Agent): string[] {
  return [
    agent.name,
    agent.status,
    agent.connected ? 'yes' : 'no',
    agent.os_type,
    agent.arch,
    agent.ip ?? '-',
    agent.tags.join(',') || '-',
    ago(agent.last_seen_at),
    agent.id,
  ];
}

export const agentsCommands: ClientCommand[] = [
  defineCommand({
    words: ['agents', 'ls'],
    synopsis:
      '[--status S] [--os OS] [--tag T] [--group NAME|ID] [--connected true|false] [--search TEXT] ' +
      '[--limit N] [--json]',
    summary: 'list agents (every page unless --limit)',
    options: {
      status: { type: 'string' },
      os: { type: 'string' },
      tag: { type: 'string' },
      group: { type: 'string' },
      connected: { type: 'string' },
      search: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run({ values, positionals }, ctx) {
      noArguments(positionals);
      const status = choiceFlag(values.status, 'status', agentStatuses);
      const os = choiceFlag(values.os, 'os', osTypes);
      const connected = connectedFlag(values.connected);
      const limit = integerFlag(values.limit, 'limit');
      const client = ctx.client();
      const groupId = values.group === undefined ? undefined : await findGroupId(client, values.group);
      const agents = await client.list<Agent>(
        '/api/v1/agents',
        { status, os_type: os, tag: values.tag, group_id: groupId, connected, q: values.search },
        limit,
      );
      if (values.json) {
        ctx.terminal.json(agents);
        return 0;
      }
      const headers = ['NAME', 'STATUS', 'CONNECTED', 'OS', 'ARCH', 'IP', 'TAGS', 'LAST SEEN', 'ID'];
      for (const line of table(headers, agents.map(agentRow))) ctx.terminal.out(line);
      return 0;
    },
  }),
  defineCommand({
    words: ['agents', 'show'],
    synopsis: 'ID|NAME [--json]',
    summary: "an agent's record",
    options: { json: { type: 'boolean' } },
    async run({ values, positionals }, ctx) {
      const agent = await findAgent(ctx.client(), oneArgument(positionals, 'an agent id or name'));
      if (values.json) {
        ctx.terminal.json(agent);
        return 0;
      }
      const metrics = agent.metrics
        ? `cpu ${agent.metrics.cpu_percent}%, memory ${agent.metrics.memory_percent}%, disk ${agent.metrics.disk_percent}%`
        : '-';
      const lines = fields([
        ['name', agent.name],
        ['id', agent.id],
        ['hostname', agent.hostname],
        ['status', `${agent.status}${agent.connected ? ', connected' : ''}`],
        ['os', `${agent.os_type} ${agent.os_version} (${agent.arch})`],
        ['ip', agent.ip ?? '-'],
        ['agent version', agent.agent_version ?? '-'],
        ['interpreters', agent.interpreters.join(', ') || '-'],
        ['tags', agent.tags.join(', ') || '-'],
        ['group', agent.group_id ?? '-'],
        ['last seen', `${agent.last_seen_at ?? '-'} (${ago(agent.last_seen_at)})`],
        ['metrics', metrics],
        ['notes', agent.notes || '-'],
      ]);
      for (const line of lines) ctx.terminal.out(line);
      return 0;
    },
  }),
];
