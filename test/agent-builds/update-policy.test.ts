import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishBuilds } from '../support/agent-builds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerSignedBy } from '../../src/agent/self-update.js';
import type { UpdateOffer } from '../../src/protocol/agent.js';
import { compareVersions } from '../../src/server/lib/semver.js';
import { enrollmentToken, facts, METRICS, register } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

/**
 * Who is offered an update, over socket agents speaking the protocol by hand: the server holds a
 * build 0.2.0 for linux-x64 (a stand-in file: the server checks only its manifest's size and hash).
 */

const BUILD = Buffer.from('#!/bin/sh\necho fleetplane-agent 0.2.0\n');
const BUILD_SHA = createHash('sha256').update(BUILD).digest('hex');

/** What a single-file agent on linux-x64 at 0.1.0 says about itself. */
function sea(overrides: Record<string, unknown> = {}) {
  return facts({
    agent_version: '0.1.0',
    arch: 'x64',
    system_info: { platform: 'linux' },
    self_update: true,
    ...overrides,
  });
}

describe('agent builds: versions', () => {
  it('agent builds: versions compare as semver, a pre-release before its release', () => {
    expect(compareVersions('0.2.0', '0.1.0')).toBe(1);
    expect(compareVersions('1.2.10', '1.2.9')).toBe(1);
    expect(compareVersions('0.2.0-test', '0.2.0')).toBe(-1);
    expect(compareVersions('0.0.2-test', '0.0.1-test')).toBe(1);
    expect(compareVersions('1.0.0-rc.2', '1.0.0-rc.10')).toBe(-1);
    expect(compareVersions('1.0.0-alpha', '1.0.0-alpha.1')).toBe(-1);
    expect(compareVersions('1.0.0+build.5', '1.0.0')).toBe(0);
    expect(compareVersions('0.1.0', 'garbage')).toBe(1);
  });
});

describe.each(dialects)('agent builds: who is offered an update on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  let publicKey: string;
  const sockets: SocketAgent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-update-policy-'));
    publishBuilds(dir, '0.2.0', [
      { os: 'linux', arch: 'x64', file: 'fleetplane-agent-linux-x64', bytes: BUILD },
    ]);
    server = await startTestServer(dialect, { config: { agentBuildsDir: dir } });
    owner = await signup(server);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Registers an agent with these facts (through a token of `tokenBody`), answering its id and token. */
  async function agent(agentFacts = sea(), tokenBody: Record<string, unknown> = {}) {
    const { secret } = await enrollmentToken(server, owner, tokenBody);
    const reply = await expectStatus(register(server, { enrollment_token: secret, facts: agentFacts }), 200);
    publicKey = reply.update_public_key;
    return { id: reply.agent_id as string, token: reply.agent_token as string, facts: agentFacts };
  }

  /**
   * Says hello and answers the update offered at it, or undefined. Frames are handled in order: an
   * event about no job, sent after the hello, is answered once the hello's offer went out.
   */
  async function hello(registered: { token: string; facts: object }): Promise<UpdateOffer | undefined> {
    const socket = await SocketAgent.connect(server, registered.token, { facts: registered.facts });
    sockets.push(socket);
    socket.event({ type: 'ack', job_id: randomUUID(), attempt: 1 });
    await socket.next('event_ack');
    const offer = socket.frames.find((frame) => frame.type === 'update');
    socket.close();
    if (!offer) return undefined;
    const { type: _type, ...rest } = offer;
    return rest;
  }

  const setPolicy = (body: object) =>
    call(server, 'PUT', '/api/v1/agent-updates', { token: owner.token, body });
  const status = async () =>
    expectStatus(call(server, 'GET', '/api/v1/agent-updates', { token: owner.token }), 200);

  it('agent builds: an older single-file agent is offered the build, signed with the key it was told', async () => {
    const registered = await agent();
    expect(publicKey).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const offer = await hello(registered);
    expect(offer).toEqual({
      version: '0.2.0',
      os: 'linux',
      arch: 'x64',
      sha256: BUILD_SHA,
      size: BUILD.length,
      signature: expect.any(String),
      download_path: '/api/v1/agent-builds/linux/x64/download',
    });
    expect(offerSignedBy(offer!, publicKey)).toBe(true);
    // any field changed, or another key: refused
    expect(offerSignedBy({ ...offer!, sha256: 'f'.repeat(64) }, publicKey)).toBe(false);
    expect(offerSignedBy({ ...offer!, version: '9.9.9' }, publicKey)).toBe(false);
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(offerSignedBy(offer!, stranger.toString('base64'))).toBe(false);
    // the offer stands while the agent works on it: a reconnect is not offered it again
    expect(await hello(registered)).toBeUndefined();
  });

  it('agent builds: `fleetplane agent` (not single-file), an agent on the build version, another platform: no offer', async () => {
    expect(await hello(await agent(sea({ self_update: undefined })))).toBeUndefined();
    expect(await hello(await agent(sea({ agent_version: '0.2.0' })))).toBeUndefined();
    expect(await hello(await agent(sea({ arch: 'arm64' })))).toBeUndefined();
    expect(await hello(await agent(sea({ system_info: { platform: 'win32' } })))).toBeUndefined();
  });

  it('agent builds: paused, none is offered; at the canary stage only the canary group; then all', async () => {
    const group = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', {
        token: owner.token,
        body: { name: `canary-${dialect}` },
      }),
      201,
    );
    const canary = await agent(sea(), { group_id: group.id });
    const other = await agent();

    await expectStatus(setPolicy({ paused: true, stage: 'all', canary_group_id: null }), 200);
    expect(await hello(canary)).toBeUndefined();
    expect(await hello(other)).toBeUndefined();

    await expectStatus(setPolicy({ paused: false, stage: 'canary', canary_group_id: group.id }), 200);
    expect(await hello(other)).toBeUndefined();
    expect((await hello(canary))?.version).toBe('0.2.0');

    await expectStatus(setPolicy({ paused: false, stage: 'all', canary_group_id: group.id }), 200);
    expect((await hello(other))?.version).toBe('0.2.0');

    const changes = await auditOf(server, owner, 'agent_update_policy', owner.orgId);
    expect(changes.at(-1)).toMatchObject({
      action: 'modified',
      before: { paused: false, stage: 'canary', canary_group_id: group.id },
      after: { paused: false, stage: 'all', canary_group_id: group.id },
    });
  });

  it('agent builds: a failed build is not offered again; one that comes back on it counts as updated', async () => {
    const failing = await agent();
    const offer = await hello(failing);
    expect(offer?.version).toBe('0.2.0');
    const socket = await SocketAgent.connect(server, failing.token, { facts: { ...failing.facts } });
    sockets.push(socket);
    socket.send({
      type: 'update_result',
      version: '0.2.0',
      sha256: BUILD_SHA,
      ok: false,
      reason: 'trial exited 1',
    });
    socket.event({ type: 'ack', job_id: randomUUID(), attempt: 1 });
    await socket.next('event_ack');
    socket.close();
    expect((await status()).agents).toContainEqual(
      expect.objectContaining({
        agent_id: failing.id,
        outcome: 'failed',
        reason: 'trial exited 1',
        version: '0.1.0',
      }),
    );
    expect(await hello(failing)).toBeUndefined();

    // over the HTTP fallback: the offer rides in the heartbeat's answer, the result in the next one
    const updating = await agent();
    const beat = (body: object) =>
      expectStatus(
        call(server, 'POST', '/api/v1/agent/heartbeat', {
          token: updating.token,
          body: { metrics: METRICS, running_job_ids: [], ...body },
        }),
        200,
      );
    expect((await beat({ facts: updating.facts })).update).toMatchObject({
      version: '0.2.0',
      sha256: BUILD_SHA,
    });
    expect(
      (await beat({ update_result: { version: '0.2.0', sha256: BUILD_SHA, ok: true } })).update,
    ).toBeUndefined();
    expect((await status()).agents).toContainEqual(
      expect.objectContaining({ agent_id: updating.id, outcome: 'swapped' }),
    );
    await beat({ facts: { ...updating.facts, agent_version: '0.2.0' } });
    const after = await status();
    expect(after.agents).toContainEqual(
      expect.objectContaining({ agent_id: updating.id, outcome: 'updated', version: '0.2.0' }),
    );
    expect(after.versions).toContainEqual({ version: '0.2.0', count: expect.any(Number) });
    expect(after.builds).toEqual([
      { os: 'linux', arch: 'x64', version: '0.2.0', sha256: BUILD_SHA, size: BUILD.length },
    ]);
  });

  it('agent builds: a canary group of another organisation is 422; each organisation has its own policy', async () => {
    const stranger = await signup(server, 'stranger');
    const theirs = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', { token: stranger.token, body: { name: 'theirs' } }),
      201,
    );
    expectError(
      await setPolicy({ paused: false, stage: 'canary', canary_group_id: theirs.id }),
      422,
      'unprocessable',
    );
    expect(
      (
        await call(server, 'PUT', '/api/v1/agent-updates', {
          token: stranger.token,
          body: { paused: true, stage: 'all', canary_group_id: null },
        })
      ).status,
    ).toBe(200);
    // the stranger's pause is theirs alone
    expect((await status()).policy.paused).toBe(false);
  });
});
