import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { call, type Reply, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

/** What an agent says about its machine; a fresh fingerprint unless one is given. */
export function facts(overrides: Record<string, unknown> = {}) {
  return {
    hostname: `host-${randomBytes(3).toString('hex')}`,
    fingerprint: `fp-${randomBytes(8).toString('hex')}`,
    os_type: 'ubuntu',
    os_version: '24.04',
    arch: 'x86_64',
    agent_version: '0.1.0',
    interpreters: ['bash', 'sh', 'python'],
    system_info: { cpus: 4, memory_mb: 8192 },
    ...overrides,
  };
}

export async function expectStatus(reply: Promise<Reply>, status: number): Promise<any> {
  const r = await reply;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

/** Creates an enrollment token and answers its secret and its view. */
export async function enrollmentToken(
  server: TestServer,
  owner: Session,
  body: Record<string, unknown> = {},
): Promise<{ secret: string; id: string; view: any }> {
  const created = await expectStatus(
    call(server, 'POST', '/api/v1/enrollment-tokens', {
      token: owner.token,
      body: { name: 'fleet token', ...body },
    }),
    201,
  );
  return { secret: created.secret, id: created.enrollment_token.id, view: created.enrollment_token };
}

export function register(server: TestServer, body: Record<string, unknown>): Promise<Reply> {
  return call(server, 'POST', '/api/v1/agent/register', { body });
}

/** Enrolls one agent with a fresh token (or the one given) and answers its id and token. */
export async function enroll(
  server: TestServer,
  owner: Session,
  options: { secret?: string; facts?: Record<string, unknown> } = {},
): Promise<{ agentId: string; agentToken: string; facts: ReturnType<typeof facts> }> {
  const secret = options.secret ?? (await enrollmentToken(server, owner)).secret;
  const agentFacts = facts(options.facts);
  const reply = await expectStatus(register(server, { enrollment_token: secret, facts: agentFacts }), 200);
  return { agentId: reply.agent_id, agentToken: reply.agent_token, facts: agentFacts };
}

/** The audit events of one entity, oldest first. */
export async function auditOf(server: TestServer, owner: Session, entityType: string, entityId: string) {
  const reply = await expectStatus(
    call(server, 'GET', `/api/v1/audit?entity_type=${entityType}&entity_id=${entityId}&limit=200`, {
      token: owner.token,
    }),
    200,
  );
  return [...reply.items].reverse();
}
