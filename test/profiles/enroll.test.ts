import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, facts, register } from '../support/agents.js';
import { auditOf, call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { commandTask, createProfile } from './support.js';

describe.each(dialects)('profiles: auto profile on enrollment on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'enroll');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });

  /** The profile runs started for an agent, by any actor. */
  const runsFor = async (profileId: string, agentId: string) =>
    (await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200)).items.filter(
      (r: any) => r.spec?.profile_id === profileId && r.target.agent_ids?.includes(agentId),
    );

  async function groupWithAuto(profileId: string | null) {
    return expectStatus(
      api('POST', '/api/v1/agent-groups', {
        name: `group-${Math.random().toString(36).slice(2, 8)}`,
        auto_profile_id: profileId,
      }),
      201,
    );
  }

  it('profiles: only a first enrollment into the group applies its auto profile; registering again does not', async () => {
    const profile = await createProfile(server, owner, { tasks: [commandTask('hello', 'echo hi')] });
    const group = await groupWithAuto(profile.id);
    const token = await enrollmentToken(server, owner, { group_id: group.id });
    const machine = facts();
    const first = await expectStatus(
      register(server, { enrollment_token: token.secret, facts: machine }),
      200,
    );
    const runs = await runsFor(profile.id, first.agent_id);
    expect(runs).toMatchObject([
      { source: 'profile', name: profile.name, created_by: null, counts: { total: 1 } },
    ]);
    const agent = await expectStatus(api('GET', `/api/v1/agents/${first.agent_id}`), 200);
    expect(agent.profile_id).toBe(profile.id);
    const [created] = await auditOf(server, owner, 'run', runs[0].id);
    expect(created).toMatchObject({ actor_type: 'system', after: { profile_id: profile.id } });

    // The same machine registering again (a reinstall, a new token) is not a new agent.
    await expectStatus(register(server, { enrollment_token: token.secret, facts: machine }), 200);
    expect(await runsFor(profile.id, first.agent_id)).toHaveLength(1);

    // A group without an auto profile applies nothing.
    const plain = await groupWithAuto(null);
    const plainToken = await enrollmentToken(server, owner, { group_id: plain.id });
    const other = await expectStatus(
      register(server, { enrollment_token: plainToken.secret, facts: facts() }),
      200,
    );
    const all = (await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200)).items;
    expect(all.filter((r: any) => r.target.agent_ids?.includes(other.agent_id))).toEqual([]);
  });

  it('profiles: a machine record of the group gets the auto profile when it first registers with its key', async () => {
    const profile = await createProfile(server, owner, { tasks: [commandTask('hello', 'echo hi')] });
    const group = await groupWithAuto(profile.id);
    const record = await expectStatus(
      api('POST', '/api/v1/agents', { name: 'db-1', group_id: group.id }),
      201,
    );
    expect(await runsFor(profile.id, record.agent.id)).toEqual([]);
    await expectStatus(register(server, { machine_key: record.machine_key, facts: facts() }), 200);
    expect(await runsFor(profile.id, record.agent.id)).toHaveLength(1);
  });

  it('profiles: an auto profile that does not suit the agent is logged; the registration still succeeds', async () => {
    const profile = await createProfile(server, owner, {
      target_os_type: 'windows',
      tasks: [commandTask('hello', 'echo hi')],
    });
    const group = await groupWithAuto(profile.id);
    const token = await enrollmentToken(server, owner, { group_id: group.id });
    const reply = await expectStatus(
      register(server, { enrollment_token: token.secret, facts: facts() }),
      200,
    );
    expect(reply.agent_token).toMatch(/^fpa_/);
    expect(await runsFor(profile.id, reply.agent_id)).toEqual([]);
    expect(
      server.logs.some((l) => l.msg === 'auto profile on enrollment failed' && l.agentId === reply.agent_id),
    ).toBe(true);
    // Nothing was assigned either.
    expect((await expectStatus(api('GET', `/api/v1/agents/${reply.agent_id}`), 200)).profile_id).toBeNull();
  });
});
