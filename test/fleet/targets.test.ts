import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsRepo, type TargetSelector } from '../../src/server/modules/agents/agents.repo.js';
import { enroll } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

describe.each(dialects)('fleet: run targets on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let group: string;
  const agents: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server);
    group = (
      await expectStatus(
        call(server, 'POST', '/api/v1/agent-groups', { token: owner.token, body: { name: 'g' } }),
        201,
      )
    ).id;
    const specs: [name: string, os: string, tags: string[], inGroup: boolean][] = [
      ['lin-web', 'ubuntu', ['web', 'prod'], true],
      ['lin-db', 'ubuntu', ['db', 'prod'], false],
      ['win-web', 'windows', ['web', 'staging'], true],
      ['mac', 'macos', ['web_prod'], false],
      ['gone', 'ubuntu', ['web', 'prod'], true],
    ];
    for (const [name, os, tags, inGroup] of specs) {
      const { agentId } = await enroll(server, owner, { facts: { hostname: name, os_type: os } });
      await expectStatus(
        call(server, 'PATCH', `/api/v1/agents/${agentId}`, {
          token: owner.token,
          body: { tags, ...(inGroup ? { group_id: group } : {}) },
        }),
        200,
      );
      agents[name] = agentId;
    }
    await expectStatus(call(server, 'DELETE', `/api/v1/agents/${agents.gone}`, { token: owner.token }), 204);
  });
  afterAll(async () => {
    await server.close();
  });

  const select = async (selector: TargetSelector, orgId = owner.orgId) => {
    const rows = await agentsRepo.selectTargets(server.database.db, orgId, selector);
    const byId = Object.fromEntries(Object.entries(agents).map(([name, id]) => [id, name]));
    return rows.map((row) => byId[row.id]).sort();
  };

  it('fleet: selectTargets AND-combines tags, group and OS over live agents', async () => {
    expect(await select({ tags: ['web'] })).toEqual(['lin-web', 'win-web']);
    expect(await select({ tags: ['web', 'prod'] })).toEqual(['lin-web']);
    expect(await select({ tags: ['prod'] })).toEqual(['lin-db', 'lin-web']);
    expect(await select({ tags: ['web_prod'] })).toEqual(['mac']);
    expect(await select({ tags: ['web%'] })).toEqual([]);
    expect(await select({ group_id: group })).toEqual(['lin-web', 'win-web']);
    expect(await select({ group_id: group, os_type: 'windows' })).toEqual(['win-web']);
    expect(await select({ os_type: 'ubuntu' })).toEqual(['lin-db', 'lin-web']);
    expect(await select({ os_type: 'ubuntu', tags: ['web'] })).toEqual(['lin-web']);
  });

  it('fleet: selectTargets by ids, all, and nothing for an empty selector', async () => {
    expect(await select({ agent_ids: [agents['lin-db']!, agents.mac!, agents.gone!] })).toEqual([
      'lin-db',
      'mac',
    ]);
    expect(await select({ agent_ids: [agents['lin-db']!], tags: ['web'] })).toEqual([]);
    expect(await select({ all: true })).toEqual(['lin-db', 'lin-web', 'mac', 'win-web']);
    expect(await select({ all: true, os_type: 'macos' })).toEqual(['mac']);
    expect(await select({})).toEqual([]);
    expect(await select({ all: false })).toEqual([]);
    expect(await select({ agent_ids: [] })).toEqual([]);
    expect(await select({ tags: [] })).toEqual([]);
    // Another organisation's ids select nothing.
    const other = await signup(server, 'other');
    expect(await select({ agent_ids: Object.values(agents) }, other.orgId)).toEqual([]);
    expect(await select({ all: true }, other.orgId)).toEqual([]);
  });

  it('fleet: selectTargets answers the OS, interpreters and connection of each agent', async () => {
    const [row] = await agentsRepo.selectTargets(server.database.db, owner.orgId, {
      agent_ids: [agents['win-web']!],
    });
    expect(row).toEqual({
      id: agents['win-web'],
      os_type: 'windows',
      interpreters: ['bash', 'sh', 'python'],
      connected: false,
    });
  });
});
