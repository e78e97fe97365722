import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, enrollmentToken, facts, register } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

describe.each(dialects)('fleet: enrollment on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  it('fleet: an enrollment token is shown once, listed masked and revocable', async () => {
    const { secret, id, view } = await enrollmentToken(server, owner, { name: 'rack 4', max_uses: 10 });
    expect(secret).toMatch(/^fpe_[\w-]{43}$/);
    expect(view).toMatchObject({
      name: 'rack 4',
      prefix: secret.slice(0, 12),
      max_uses: 10,
      uses: 0,
      tags: [],
      group_id: null,
      created_by: owner.userId,
      revoked_at: null,
      status: 'active',
    });

    const list = await expectStatus(
      call(server, 'GET', '/api/v1/enrollment-tokens', { token: owner.token }),
      200,
    );
    expect(list.items.map((t: { id: string }) => t.id)).toContain(id);
    const one = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      200,
    );
    expect(one).toEqual(view);
    for (const body of [list, one]) {
      expect(JSON.stringify(body)).not.toContain(secret);
      expect(JSON.stringify(body)).not.toContain(secret.slice(12));
    }

    await expectStatus(
      call(server, 'DELETE', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      204,
    );
    const revoked = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      200,
    );
    expect(revoked).toMatchObject({ status: 'revoked', revoked_at: expect.any(String) });
    // Revoking again changes nothing and writes nothing.
    await expectStatus(
      call(server, 'DELETE', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      204,
    );

    const events = await auditOf(server, owner, 'enrollment_token', id);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'status_changed']);
    expect(events[0]).toMatchObject({ actor_type: 'user', actor_id: owner.userId });
    expect(events[1].before.status).toBe('active');
    expect(events[1].after.status).toBe('revoked');
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it('fleet: registering with an enrollment token counts its uses and enforces max_uses', async () => {
    const { secret, id } = await enrollmentToken(server, owner, { max_uses: 2 });
    await enroll(server, owner, { secret });
    await enroll(server, owner, { secret });
    const third = await register(server, { enrollment_token: secret, facts: facts() });
    expectError(third, 401, 'unauthorized');
    const token = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      200,
    );
    expect(token).toMatchObject({ uses: 2, max_uses: 2, status: 'exhausted' });
  });

  it('fleet: concurrent registrations never spend more uses than max_uses', async () => {
    const { secret, id } = await enrollmentToken(server, owner, { max_uses: 3 });
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => register(server, { enrollment_token: secret, facts: facts() })),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(3);
    expect(replies.filter((r) => r.status === 401)).toHaveLength(5);
    const token = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      200,
    );
    expect(token.uses).toBe(3);
  });

  it('fleet: an expired enrollment token is refused (401)', async () => {
    const expiresAt = new Date(clock.now().getTime() + 60_000).toISOString();
    const { secret, id } = await enrollmentToken(server, owner, { expires_at: expiresAt });
    await enroll(server, owner, { secret });
    clock.advance(61_000);
    const late = await register(server, { enrollment_token: secret, facts: facts() });
    expectError(late, 401, 'unauthorized');
    expect(late.body.error.message).toContain('expired');
    const token = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      200,
    );
    expect(token).toMatchObject({ uses: 1, status: 'expired' });
  });

  it('fleet: a revoked enrollment token is refused (401)', async () => {
    const { secret, id } = await enrollmentToken(server, owner);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      204,
    );
    const reply = await register(server, { enrollment_token: secret, facts: facts() });
    expectError(reply, 401, 'unauthorized');
    expect(reply.body.error.message).toContain('revoked');
  });

  it('fleet: registration without a valid credential is 401, with both credentials 400', async () => {
    expectError(
      await register(server, { enrollment_token: `fpe_${'x'.repeat(43)}`, facts: facts() }),
      401,
      'unauthorized',
    );
    expectError(
      await register(server, { machine_key: `fpm_${'x'.repeat(43)}`, facts: facts() }),
      401,
      'unauthorized',
    );
    expectError(await register(server, { facts: facts() }), 401, 'unauthorized');
    const { secret } = await enrollmentToken(server, owner);
    expectError(
      await register(server, { enrollment_token: secret, machine_key: 'fpm_x', facts: facts() }),
      400,
      'bad_request',
    );
    expectError(
      await register(server, { enrollment_token: secret, facts: { hostname: 'x' } }),
      400,
      'validation_failed',
    );
    // None of the refused attempts spent a use.
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/enrollment-tokens?limit=1', { token: owner.token }),
      200,
    );
    expect(list.items[0].uses).toBe(0);
  });

  it('fleet: agents enrolled with a token get its default tags and group', async () => {
    const group = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', { token: owner.token, body: { name: 'edge' } }),
      201,
    );
    const { secret } = await enrollmentToken(server, owner, { tags: ['edge', 'rack_4'], group_id: group.id });
    const { agentId } = await enroll(server, owner, { secret });
    const agent = await expectStatus(
      call(server, 'GET', `/api/v1/agents/${agentId}`, { token: owner.token }),
      200,
    );
    expect(agent).toMatchObject({
      tags: ['edge', 'rack_4'],
      group_id: group.id,
      enrolled_via: 'enrollment_token',
    });
  });

  it('fleet: a token cannot name a group of another organisation (422) nor expire in the past (422)', async () => {
    const other = await signup(server, 'other');
    const foreign = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', { token: other.token, body: { name: 'theirs' } }),
      201,
    );
    const create = (body: Record<string, unknown>) =>
      call(server, 'POST', '/api/v1/enrollment-tokens', { token: owner.token, body: { name: 'x', ...body } });
    expectError(await create({ group_id: foreign.id }), 422, 'unprocessable');
    expectError(
      await create({ expires_at: new Date(clock.now().getTime() - 1000).toISOString() }),
      422,
      'unprocessable',
    );
    expectError(await create({ tags: ['Upper'] }), 400, 'validation_failed');
    expectError(await create({ max_uses: 0 }), 400, 'validation_failed');
  });

  it("fleet: an organisation gets 404 for another organisation's enrollment tokens", async () => {
    const other = await signup(server, 'other');
    const { id, secret } = await enrollmentToken(server, other);
    expectError(
      await call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      404,
      'not_found',
    );
    expectError(
      await call(server, 'DELETE', `/api/v1/enrollment-tokens/${id}`, { token: owner.token }),
      404,
      'not_found',
    );
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/enrollment-tokens?limit=200', { token: owner.token }),
      200,
    );
    expect(list.items.map((t: { id: string }) => t.id)).not.toContain(id);
    // Still usable by its owner: A's attempts changed nothing.
    const mine = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${id}`, { token: other.token }),
      200,
    );
    expect(mine.status).toBe('active');
    // And an agent enrolled with it lands in the other organisation.
    const { agentId } = await enroll(server, other, { secret });
    expectError(
      await call(server, 'GET', `/api/v1/agents/${agentId}`, { token: owner.token }),
      404,
      'not_found',
    );
    await expectStatus(call(server, 'GET', `/api/v1/agents/${agentId}`, { token: other.token }), 200);
  });
});
