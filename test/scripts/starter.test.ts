import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

/** What the starter library holds: seven saved commands for each OS. */
const PER_OS = 7;
const OSES = [
  { os: 'linux', language: 'sh' },
  { os: 'windows', language: 'powershell' },
  { os: 'macos', language: 'sh' },
] as const;

async function starters(server: Pick<TestServer, 'url'>, session: Session, tag = 'starter'): Promise<any[]> {
  const page = await expectStatus(
    call(server, 'GET', `/api/v1/scripts?tag=${tag}&limit=100`, { token: session.token }),
    200,
  );
  expect(page.next_cursor).toBeNull();
  return page.items;
}

describe.each(dialects)('scripts: the starter library of a new organisation on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'starter');
  });
  afterAll(async () => {
    await server.close();
  });

  it('scripts: a signed-up organisation has one-line saved commands per OS, tagged starter, each at version 1', async () => {
    const items = await starters(server, owner);
    expect(items).toHaveLength(PER_OS * OSES.length);
    // All of the organisation's saved commands are the starters, and no script came with them.
    const commands = await expectStatus(
      call(server, 'GET', '/api/v1/scripts?kind=command&limit=100', { token: owner.token }),
      200,
    );
    expect(commands.items.map((s: { id: string }) => s.id).sort()).toEqual(items.map((s) => s.id).sort());
    for (const { os, language } of OSES) {
      const mine = items.filter((s) => s.target_os_type === os);
      expect(mine, os).toHaveLength(PER_OS);
      expect((await starters(server, owner, os)).map((s) => s.id).sort()).toEqual(
        mine.map((s) => s.id).sort(),
      );
      for (const script of mine) {
        expect(script, script.name).toMatchObject({
          kind: 'command',
          language,
          tags: ['starter', os],
          parameters: [],
          version: 1,
          created_by: null,
        });
        expect(script.description.length, script.name).toBeGreaterThan(0);
        expect(script.content, script.name).not.toMatch(/[\r\n]/);
      }
    }
    const versions = await expectStatus(
      call(server, 'GET', `/api/v1/scripts/${items[0].id}/versions`, { token: owner.token }),
      200,
    );
    expect(versions.items.map((v: any) => [v.version, v.content])).toEqual([[1, items[0].content]]);
  });

  it('scripts: every sh starter (Linux and macOS) parses as one valid shell line', async () => {
    const shell = (await starters(server, owner)).filter((s) => s.language === 'sh');
    expect(shell).toHaveLength(PER_OS * 2);
    for (const script of shell) {
      const parsed = spawnSync('sh', ['-n', '-c', script.content], { encoding: 'utf8' });
      expect(parsed.status, `${script.name}: ${parsed.stderr}`).toBe(0);
    }
  });

  it('scripts: starters are ordinary rows: edited, deleted, and a deleted one does not come back', async () => {
    const user = await signup(server, 'editor');
    const [edited, deleted] = await starters(server, user);
    const changed = await expectStatus(
      call(server, 'PATCH', `/api/v1/scripts/${edited.id}`, {
        token: user.token,
        body: { content: 'df -h /', tags: ['mine'] },
      }),
      200,
    );
    expect(changed).toMatchObject({ content: 'df -h /', tags: ['mine'], version: 2 });
    await expectStatus(call(server, 'DELETE', `/api/v1/scripts/${deleted.id}`, { token: user.token }), 204);

    // Another organisation of the same user gets its own full library; the first one keeps its changes.
    const second = await expectStatus(
      call(server, 'POST', '/api/v1/orgs', { token: user.token, body: { name: 'editor second org' } }),
      201,
    );
    const switched = await expectStatus(
      call(server, 'POST', '/api/v1/auth/switch-org', { token: user.token, body: { org_id: second.id } }),
      200,
    );
    const inSecond = { ...user, token: switched.access_token, orgId: second.id };
    const secondItems = await starters(server, inSecond);
    expect(secondItems).toHaveLength(PER_OS * OSES.length);
    expect(secondItems.map((s) => s.name)).toContain(deleted.name);

    const firstItems = await starters(server, user);
    expect(firstItems).toHaveLength(PER_OS * OSES.length - 2);
    expect(firstItems.map((s) => s.id)).not.toContain(deleted.id);
    expectError(
      await call(server, 'GET', `/api/v1/scripts/${deleted.id}`, { token: user.token }),
      404,
      'not_found',
    );
    expect(
      await expectStatus(call(server, 'GET', `/api/v1/scripts/${edited.id}`, { token: user.token }), 200),
    ).toMatchObject({ content: 'df -h /', version: 2 });
    // Each organisation sees its own starters only.
    const firstIds = new Set((await starters(server, user, 'linux')).map((s) => s.id));
    expect(secondItems.some((s) => firstIds.has(s.id))).toBe(false);
  });
});

/** What each Linux starter prints on any Linux with procps and iproute2 or net-tools. */
const LINUX_OUTPUT: Record<string, RegExp | null> = {
  'Disk usage (Linux)': /Filesystem/,
  'Top processes by memory (Linux)': /PID/,
  'Listening ports (Linux)': /Local Address/,
  // A machine may have logged no error at all.
  'Recent system errors (Linux)': null,
  'Uptime and last boot (Linux)': /load average[\s\S]*last boot: \S/,
  'Network interfaces (Linux)': /\blo\b/,
  'Logged-in users (Linux)': /USER/,
};

describe.each(dialects)('scripts: the Linux starters on a real agent on %s', (dialect) => {
  let fixture: ServerWithAgents;
  beforeAll(async () => {
    fixture = await ServerWithAgents.start(dialect, 'starter-run');
  });
  afterAll(() => fixture?.close());

  it('scripts: each Linux starter runs on a real Linux agent and exits 0 with what it is for', async () => {
    const { server, owner } = fixture;
    const linux = await starters(server, owner, 'linux');
    expect(linux.map((s) => s.name).sort()).toEqual(Object.keys(LINUX_OUTPUT).sort());
    const jobs = await Promise.all(
      linux.map((script) =>
        expectStatus(
          call(server, 'POST', `/api/v1/scripts/${script.id}/run?wait=60`, {
            token: owner.token,
            body: { agent_id: fixture.agent.id },
          }),
          200,
        ),
      ),
    );
    for (const [i, job] of jobs.entries()) {
      const script = linux[i];
      const output = await jobOutput(server, owner, job.id);
      expect(job, `${script.name}: ${output}`).toMatchObject({
        status: 'succeeded',
        exit_code: 0,
        interpreter: 'sh',
        command: script.content,
      });
      const expected = LINUX_OUTPUT[script.name];
      if (expected) expect(output, script.name).toMatch(expected);
    }
  });
});
