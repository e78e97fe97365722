import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishedBuild } from '../support/agent-builds.js';
import { facts } from '../support/agents.js';
import { call, expectError, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { agentRuns, run, sha256File, tree, writeFakeBuilds, writeFakeTools } from './support.js';

const UNIT = `[Unit]
Description=Fleetplane agent
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=ROOT/opt/fleetplane-agent/fleetplane-agent --state-dir ROOT/var/lib/fleetplane-agent
Environment=FLEETPLANE_AGENT_SUPERVISED=1
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;

describe.each(dialects)('installers on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let work: string;
  let buildsDir: string;
  let builds: PublishedBuild[];

  /** A machine: an install root with the usual directories, recording tools first in PATH. */
  function machine(name: string, tools = ['systemctl']) {
    const root = path.join(work, name, 'root');
    const logDir = path.join(work, name, 'agent-runs');
    const bin = path.join(work, name, 'bin');
    for (const dir of ['etc/systemd/system', 'opt', 'var/lib', 'usr/local', 'Library/LaunchDaemons'])
      mkdirSync(path.join(root, dir), { recursive: true });
    mkdirSync(logDir, { recursive: true });
    writeFakeTools(bin, tools);
    const calls = path.join(work, name, 'calls');
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      FLEETPLANE_INSTALL_ROOT: root,
      FAKE_AGENT_LOG_DIR: logDir,
      FAKE_CALLS: calls,
    };
    const recorded = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').slice(0, -1) : []);
    return { root, logDir, bin, env, recorded, reset: () => rmSync(calls, { force: true }) };
  }

  async function installer(body: object): Promise<{ status: number; text: string; headers: Headers }> {
    const response = await fetch(`${server.url}/api/v1/installers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  const buildOf = (os: string, arch: string) => builds.find((b) => b.os === os && b.arch === arch)!;

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-installers-'));
    buildsDir = path.join(work, 'builds');
    builds = writeFakeBuilds(buildsDir, '1.0.0');
    clock = new TestClock();
    server = await startTestServer(dialect, { clock, config: { agentBuildsDir: buildsDir } });
    owner = await signup(server, 'installers');
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('installers: the config names the server, each platform’s build (Apple silicon gets x64), locations, defaults and one-liners', async () => {
    const reply = await call(server, 'GET', '/api/v1/installers/config', { token: owner.token });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.server_url).toBe(server.url);
    expect(reply.body.agent_version).toBe('1.0.0');
    const byPlatform = Object.fromEntries(reply.body.platforms.map((p: any) => [`${p.os}-${p.arch}`, p]));
    expect(byPlatform['linux-x64']).toMatchObject({ available: true, note: null });
    expect(byPlatform['linux-x64'].build).toMatchObject({
      os: 'linux',
      arch: 'x64',
      sha256: buildOf('linux', 'x64').sha256,
    });
    expect(byPlatform['darwin-arm64']).toMatchObject({
      available: true,
      build: { os: 'darwin', arch: 'x64' },
    });
    expect(byPlatform['darwin-arm64'].note).toMatch(/Rosetta 2/);
    expect(byPlatform['windows-arm64']).toMatchObject({ available: false, build: null });
    expect(reply.body.locations.linux).toEqual({
      binary: '/opt/fleetplane-agent/fleetplane-agent',
      state: '/var/lib/fleetplane-agent',
      service: '/etc/systemd/system/fleetplane-agent.service',
    });
    expect(reply.body.defaults).toEqual({ format: 'script', token: { expires_in_hours: 24, max_uses: 1 } });
    expect(reply.body.commands.linux).toBe(
      `curl -fsSL -H 'Authorization: Bearer {token}' '${server.url}/api/v1/installers/linux/{arch}/script' | sudo sh`,
    );
    expect(reply.body.commands.windows).toBe(
      `iwr -UseBasicParsing -Headers @{Authorization='Bearer {token}'} '${server.url}/api/v1/installers/windows/{arch}/script' | iex`,
    );
  });

  describe('the Linux installer in a temporary root', () => {
    const host = () => linux;
    let linux: ReturnType<typeof machine>;
    let secret: string;
    let tokenId: string;

    it('installers: the one-line command installs, checks the binary, writes the unit, enrolls and starts it', async () => {
      linux = machine('linux');
      const reply = await call(server, 'POST', '/api/v1/installers', {
        token: owner.token,
        body: { os: 'linux', arch: 'x64', format: 'command', token: { tags: ['web'], max_uses: 5 } },
      });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expect(Object.keys(reply.body).sort()).toEqual(
        ['arch', 'command', 'enrollment_token', 'enrollment_token_id', 'os'].sort(),
      );
      ({ enrollment_token: secret, enrollment_token_id: tokenId } = reply.body);
      expect(reply.body.command).toBe(
        `curl -fsSL -H 'Authorization: Bearer ${secret}' '${server.url}/api/v1/installers/linux/x64/script' | sudo sh`,
      );
      const token = await call(server, 'GET', `/api/v1/enrollment-tokens/${tokenId}`, { token: owner.token });
      expect(token.body).toMatchObject({ tags: ['web'], max_uses: 5, uses: 0, status: 'active' });
      // The command as pasted, but without sudo: the root is a directory of the test.
      const done = await run('sh', ['-c', reply.body.command.replace(/\| sudo sh$/, '| sh')], {
        env: linux.env,
      });
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain('agent 1.0.0 installed, enrolled and started');
      const { root } = host();
      expect(sha256File(path.join(root, 'opt/fleetplane-agent/fleetplane-agent'))).toBe(
        buildOf('linux', 'x64').sha256,
      );
      const unit = readFileSync(path.join(root, 'etc/systemd/system/fleetplane-agent.service'), 'utf8');
      expect(unit.split('\n')).toEqual(UNIT.replaceAll('ROOT', root).split('\n'));
      expect(linux.recorded()).toEqual([
        'systemctl daemon-reload',
        'systemctl enable fleetplane-agent.service',
        'systemctl start fleetplane-agent.service',
      ]);
      // Enrolled by the agent's first start, with the token; the unit holds no token.
      expect(agentRuns(linux.logDir)).toEqual([
        [
          '--server',
          server.url,
          '--token',
          secret,
          '--state-dir',
          path.join(root, 'var/lib/fleetplane-agent'),
        ],
      ]);
      expect(unit).not.toContain(secret);
      expect(readFileSync(path.join(root, 'var/lib/fleetplane-agent/agent.json'), 'utf8')).toContain(
        'fpa_fake',
      );
    });

    it('installers: run again with a new build, it upgrades in place: binary replaced, state kept, service restarted', async () => {
      const { root } = host();
      const state = readFileSync(path.join(root, 'var/lib/fleetplane-agent/agent.json'), 'utf8');
      builds = writeFakeBuilds(buildsDir, '1.1.0');
      linux.reset();
      const script = await installer({ os: 'linux', arch: 'x64', enrollment_token: secret });
      expect(script.status, script.text).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/x-shellscript/);
      expect(script.headers.get('content-disposition')).toBe(
        'attachment; filename="fleetplane-install-linux-x64.sh"',
      );
      expect(script.headers.get('x-enrollment-token-id')).toBe(tokenId);
      const file = path.join(work, 'linux', 'install.sh');
      writeFileSync(file, script.text);
      const done = await run('sh', [file], { env: linux.env });
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain('upgraded to agent 1.1.0 and restarted');
      expect(sha256File(path.join(root, 'opt/fleetplane-agent/fleetplane-agent'))).toBe(
        buildOf('linux', 'x64').sha256,
      );
      expect(readFileSync(path.join(root, 'var/lib/fleetplane-agent/agent.json'), 'utf8')).toBe(state);
      expect(linux.recorded()).toEqual([
        'systemctl daemon-reload',
        'systemctl enable fleetplane-agent.service',
        'systemctl restart fleetplane-agent.service',
      ]);
      // no second enrollment
      expect(agentRuns(linux.logDir)).toHaveLength(1);
    });

    it('installers: --uninstall stops and disables the service and leaves nothing it installed', async () => {
      const { root } = host();
      linux.reset();
      const done = await run('sh', [path.join(work, 'linux', 'install.sh'), '--uninstall'], {
        env: linux.env,
      });
      expect(done.code, done.stderr).toBe(0);
      expect(linux.recorded()).toEqual([
        'systemctl stop fleetplane-agent.service',
        'systemctl disable fleetplane-agent.service',
        'systemctl daemon-reload',
      ]);
      // what the machine had before
      expect(tree(root)).toEqual(
        [
          'Library',
          'Library/LaunchDaemons',
          'etc',
          'etc/systemd',
          'etc/systemd/system',
          'opt',
          'usr',
          'usr/local',
          'var',
          'var/lib',
        ].sort(),
      );
    });
  });

  it('installers: a download that does not match the SHA-256 is refused and nothing is installed', async () => {
    const host = machine('damaged');
    const script = await installer({ os: 'linux', arch: 'arm64', token: {} });
    expect(script.status, script.text).toBe(200);
    const damaged = script.text.replace(/^AGENT_SHA256='[0-9a-f]+'$/m, `AGENT_SHA256='${'0'.repeat(64)}'`);
    const file = path.join(work, 'damaged', 'install.sh');
    writeFileSync(file, damaged);
    const done = await run('sh', [file], { env: host.env });
    expect(done.code).not.toBe(0);
    expect(done.stderr).toContain(`not ${'0'.repeat(64)}`);
    expect(host.recorded()).toEqual([]);
    expect(agentRuns(host.logDir)).toEqual([]);
    expect(existsSync(path.join(host.root, 'opt/fleetplane-agent/fleetplane-agent'))).toBe(false);
  });

  it('installers: a refused enrollment stops the install before any service is made', async () => {
    const host = machine('refused');
    const script = await installer({ os: 'linux', arch: 'x64', token: {} });
    const file = path.join(work, 'refused', 'install.sh');
    writeFileSync(file, script.text.replace(/^ENROLLMENT_TOKEN='[^']+'$/m, "ENROLLMENT_TOKEN='refused'"));
    const done = await run('sh', [file], { env: host.env });
    expect(done.code).not.toBe(0);
    expect(done.stderr).toContain('could not enroll');
    expect(host.recorded()).toEqual([]);
    expect(existsSync(path.join(host.root, 'etc/systemd/system/fleetplane-agent.service'))).toBe(false);
  });

  it('installers: format=zip holds the executable, the offline script and a README; the script installs from beside itself', async () => {
    const response = await fetch(`${server.url}/api/v1/installers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ os: 'linux', arch: 'x64', format: 'zip', token: {} }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const zip = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(zip.length);
    const host = machine('offline');
    const unpacked = path.join(work, 'offline', 'unpacked');
    mkdirSync(unpacked);
    writeFileSync(path.join(work, 'offline', 'agent.zip'), zip);
    const unzip = await run('unzip', ['-q', path.join(work, 'offline', 'agent.zip'), '-d', unpacked], {
      env: process.env,
    });
    expect(unzip.code, unzip.stderr).toBe(0);
    expect(tree(unpacked)).toEqual(['README.txt', 'fleetplane-agent-linux-x64', 'install.sh']);
    expect(sha256File(path.join(unpacked, 'fleetplane-agent-linux-x64'))).toBe(
      buildOf('linux', 'x64').sha256,
    );
    const script = readFileSync(path.join(unpacked, 'install.sh'), 'utf8');
    expect(script).toContain("AGENT_URL=''");
    expect(readFileSync(path.join(unpacked, 'README.txt'), 'utf8')).toContain('sudo sh install.sh');
    // no curl nor wget can reach anything: only what is beside the script is installed
    const done = await run('sh', [path.join(unpacked, 'install.sh')], {
      env: { ...host.env, PATH: `${host.bin}:/usr/bin:/bin` },
      cwd: work,
    });
    expect(done.code, done.stderr).toBe(0);
    expect(sha256File(path.join(host.root, 'opt/fleetplane-agent/fleetplane-agent'))).toBe(
      buildOf('linux', 'x64').sha256,
    );

    const windows = await fetch(`${server.url}/api/v1/installers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ os: 'windows', arch: 'x64', format: 'zip', token: {} }),
    });
    const text = Buffer.from(await windows.arrayBuffer()).toString('latin1');
    expect(text).toContain('fleetplane-agent-windows-x64.exe');
    expect(text).toContain('install.ps1');
    expect(text).toContain("$AgentUrl = ''");
  });

  it('installers: POST refuses both or neither token, a foreign or spent token, a foreign group and a platform without a build, making no token', async () => {
    const other = await signup(server, 'installers-other');
    const foreignToken = await call(server, 'POST', '/api/v1/enrollment-tokens', {
      token: other.token,
      body: { name: 'theirs' },
    });
    const foreignGroup = await call(server, 'POST', '/api/v1/agent-groups', {
      token: other.token,
      body: { name: 'theirs' },
    });
    const count = async () =>
      (await call(server, 'GET', '/api/v1/enrollment-tokens?limit=200', { token: owner.token })).body.items
        .length;
    const before = await count();
    const post = (body: object) =>
      call(server, 'POST', '/api/v1/installers', {
        token: owner.token,
        body: { os: 'linux', arch: 'x64', ...body },
      });
    expectError(await post({}), 422, 'unprocessable');
    expectError(await post({ enrollment_token: foreignToken.body.secret, token: {} }), 422, 'unprocessable');
    const foreign = await post({ enrollment_token: foreignToken.body.secret });
    expectError(foreign, 422, 'unprocessable');
    expect(foreign.body.error.details).toEqual([
      { field: 'body.enrollment_token', message: expect.any(String) },
    ]);
    expectError(await post({ enrollment_token: 'fpe_nothing' }), 422, 'unprocessable');
    expectError(await post({ token: { group_id: foreignGroup.body.id } }), 422, 'unprocessable');
    const unbuilt = await call(server, 'POST', '/api/v1/installers', {
      token: owner.token,
      body: { os: 'windows', arch: 'arm64', token: {} },
    });
    expectError(unbuilt, 422, 'unprocessable');
    expect(unbuilt.body.error.details[0].field).toBe('body.arch');
    expect(await count()).toBe(before);
  });

  it('installers: the script route answers 401 without, or with an unknown, expired, revoked or used-up token, and spends no use', async () => {
    const route = '/api/v1/installers/linux/x64/script';
    const created = async (body: object) => {
      const reply = await call(server, 'POST', '/api/v1/enrollment-tokens', {
        token: owner.token,
        body: { name: 'one-liner', ...body },
      });
      expect(reply.status).toBe(201);
      return reply.body as { secret: string; enrollment_token: { id: string } };
    };
    const once = await created({ max_uses: 1 });
    for (let i = 0; i < 3; i += 1) {
      const script = await call(server, 'GET', route, { token: once.secret });
      expect(script.status).toBe(200);
      expect(script.body).toContain(`ENROLLMENT_TOKEN='${once.secret}'`);
      expect(script.body).toContain(`SERVER_URL='${server.url}'`);
    }
    const after = await call(server, 'GET', `/api/v1/enrollment-tokens/${once.enrollment_token.id}`, {
      token: owner.token,
    });
    expect(after.body).toMatchObject({ uses: 0, status: 'active' });
    const windows = await call(server, 'GET', '/api/v1/installers/windows/x64/script', {
      token: once.secret,
    });
    expect(windows.body).toContain(`$EnrollmentToken = '${once.secret}'`);
    expectError(
      await call(server, 'GET', '/api/v1/installers/windows/arm64/script', { token: once.secret }),
      404,
      'not_found',
    );

    // used up: the registration spends its one use
    const registered = await call(server, 'POST', '/api/v1/agent/register', {
      body: { enrollment_token: once.secret, facts: facts({ hostname: 'one-liner-host' }) },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);
    const expiring = await created({ expires_at: new Date(clock.now().getTime() + 3_600_000).toISOString() });
    const revoked = await created({});
    await call(server, 'DELETE', `/api/v1/enrollment-tokens/${revoked.enrollment_token.id}`, {
      token: owner.token,
    });
    clock.advance(2 * 3_600_000);
    for (const token of [undefined, 'fpe_unknown', once.secret, expiring.secret, revoked.secret, owner.token])
      expectError(await call(server, 'GET', route, { ...(token ? { token } : {}) }), 401, 'unauthorized');
  });
});
