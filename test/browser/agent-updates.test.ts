import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishBuilds } from '../support/agent-builds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, facts, register } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

const BUILD = Buffer.from('#!/bin/sh\necho stand-in agent 0.2.0\n');
const BUILD_SHA = createHash('sha256').update(BUILD).digest('hex');

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console agent updates', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let dir: string;
  const sockets: SocketAgent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-console-updates-'));
    publishBuilds(dir, '0.2.0', [
      { os: 'linux', arch: 'x64', file: 'fleetplane-agent-linux-x64', bytes: BUILD },
    ]);
    server = await startTestServer('sqlite', { config: { agentBuildsDir: dir } });
    owner = await signup(server, 'rollout');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A single-file agent at 0.1.0 says hello, is offered 0.2.0 and reports how its update ended. */
  async function agentReporting(hostname: string, result: { ok: boolean; reason?: string }) {
    const { secret } = await enrollmentToken(server, owner);
    const agentFacts = facts({
      hostname,
      agent_version: '0.1.0',
      arch: 'x64',
      system_info: { platform: 'linux' },
      self_update: true,
    });
    const registered = await expectStatus(
      register(server, { enrollment_token: secret, facts: agentFacts }),
      200,
    );
    const socket = await SocketAgent.connect(server, registered.agent_token, { facts: agentFacts });
    sockets.push(socket);
    expect((await socket.next('update')).version).toBe('0.2.0');
    socket.send({ type: 'update_result', version: '0.2.0', sha256: BUILD_SHA, ...result });
    // frames are handled in order: the answer to this comes once the result is stored
    socket.event({ type: 'ack', job_id: randomUUID(), attempt: 1 });
    await socket.next('event_ack');
  }

  const policy = async () =>
    (await expectStatus(call(server, 'GET', '/api/v1/agent-updates', { token: owner.token }), 200)).policy;

  it('agent updates: builds, agents by version and a failed update shown; paused, canary and promoted from the page', async () => {
    await agentReporting('web-01', { ok: false, reason: "the new build's trial exited 1: cannot start" });
    await agentReporting('web-02', { ok: true });
    const group = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', { token: owner.token, body: { name: 'canaries' } }),
      201,
    );

    const page = await browser.open(server, '/agent-updates');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Agent updates' }).waitFor();
    await page.getByTestId('builds').getByText(BUILD_SHA).waitFor();
    await page.getByTestId('builds').getByText('linux-x64').waitFor();
    await page.getByTestId('versions').getByText('0.1.0: 2').waitFor();
    const updates = page.getByTestId('updates');
    await updates
      .getByRole('row', { name: /web-01/ })
      .getByText('failed')
      .waitFor();
    await updates
      .getByRole('row', { name: /web-01/ })
      .getByText(/trial exited 1: cannot start/)
      .waitFor();
    await updates
      .getByRole('row', { name: /web-02/ })
      .getByText('swapped')
      .waitFor();
    await page.getByText('Every single-file agent older than the build').waitFor();

    await page.getByLabel('Paused').click({ force: true });
    await page.getByText('Paused: no agent is offered an update.').waitFor();
    await expect.poll(async () => (await policy()).paused).toBe(true);
    await page.getByLabel('Paused').click({ force: true });
    await page.getByText('Every single-file agent older than the build').waitFor();

    await page.getByRole('combobox', { name: 'Canary group' }).click();
    await page.getByRole('option', { name: 'canaries' }).click();
    await expect.poll(async () => (await policy()).canary_group_id).toBe(group.id);
    await page.getByRole('button', { name: 'Back to canary' }).click();
    await page.getByText('Canary: only agents of the group canaries are offered updates.').waitFor();
    expect(await policy()).toMatchObject({ paused: false, stage: 'canary', canary_group_id: group.id });
    await browser.shot(page, 'agent-updates');

    await page.getByTestId('promote').click();
    await page.getByText('Every single-file agent older than the build').waitFor();
    expect((await policy()).stage).toBe('all');
  });
});
