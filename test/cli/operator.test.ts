import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, jobOutput, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { cliBundle } from '../support/cli-build.js';
import { call, expectStatus, roleId, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { agentVersion } from '../../src/agent/version.js';
import { Terminal } from '../../src/cli/output.js';
import { writeFakeBuilds } from '../installers/support.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { fleetplane, stopProcess } from '../support/processes.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fleetplane <args>` to its end, stdout and stderr apart (`--json` must leave stdout pure). */
function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [cliBundle, ...args], {
    // no credentials of the machine running the tests leak in
    env: { ...process.env, FLEETPLANE_API_KEY: '', FLEETPLANE_SERVER: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // a hung command fails its test with what it printed, before the test's own timeout
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

const HOSTS = [
  { name: 'web-1', tags: ['web'] },
  { name: 'web-2', tags: ['web'] },
  { name: 'db-1', tags: ['db'] },
];

describe.each(dialects)('cli client on %s', { timeout: 60_000 }, (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  let env: Record<string, string>;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-cli-client-'));
    // builds of the agents' own version: installers can be made, and no agent is offered an update
    const buildsDir = path.join(dir, 'builds');
    writeFakeBuilds(buildsDir, agentVersion());
    server = await startTestServer(dialect, { config: { agentBuildsDir: buildsDir } });
    owner = await signup(server, 'cli');
    // each agent's jobs see CLI_TEST_HOST, so one command can fail on one agent only
    const started = await Promise.all(
      HOSTS.map(async ({ name, tags }) => {
        const { secret } = await enrollmentToken(server, owner, { name, tags });
        return startAgent(server.url, { token: secret, stateDir: path.join(dir, name), name }, (args, e) =>
          fleetplane(args, { ...e, CLI_TEST_HOST: name }),
        );
      }),
    );
    agents.push(...started);
    await Promise.all(agents.map((agent) => untilOnline(server, owner.token, agent.id)));
    // db-1 alone is in the group "databases"
    const group = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', { token: owner.token, body: { name: 'databases' } }),
      201,
    );
    await expectStatus(
      call(server, 'PATCH', `/api/v1/agents/${agents[2]?.id}`, {
        token: owner.token,
        body: { group_id: group.id },
      }),
      200,
    );
    env = { FLEETPLANE_CLI_CONFIG: path.join(dir, 'credentials.json') };
    const login = await cli(
      ['login', '--server', server.url, '--email', owner.email, '--password', owner.password],
      env,
    );
    expect(login.code, login.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const agent of agents) await stopProcess(agent.proc);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cli run: --tag streams every line of each agent once, prefixed by host, and exits 0', async () => {
    // the first line is written before the CLI can have subscribed: it must come from the stored output
    const result = await cli(
      ['run', '--tag', 'web', '--', 'echo first; sleep 0.3; echo second >&2; sleep 0.2; printf tail'],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).sort()).toEqual([
      'web-1: first',
      'web-1: tail',
      'web-2: first',
      'web-2: tail',
    ]);
    const stderr = lines(result.stderr);
    expect(stderr.filter((line) => line.endsWith(': second')).sort()).toEqual([
      'web-1: second',
      'web-2: second',
    ]);
    expect(stderr).toContain('web-1  succeeded');
    expect(stderr).toContain('web-2  succeeded');
    expect(stderr).toContain('2 agents: 2 succeeded');
    // not a TTY: the progress line comes as plain lines
    expect(stderr.some((line) => line.startsWith('2/2 done'))).toBe(true);
    expect(result.stderr).not.toContain('\x1b[K');
  });

  it('cli run: a command failing on one agent exits 1 and the summary names that agent', async () => {
    const result = await cli(
      [
        'run',
        '--all',
        '--',
        'if [ "$CLI_TEST_HOST" = web-2 ]; then echo broken >&2; exit 3; fi; echo "fine on $CLI_TEST_HOST"',
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(lines(result.stdout).sort()).toEqual(['db-1: fine on db-1', 'web-1: fine on web-1']);
    const stderr = lines(result.stderr);
    expect(stderr).toContain('web-2: broken');
    expect(stderr).toContain('web-2  failed (exit 3)');
    expect(stderr).toContain('3 agents: 2 succeeded, 1 failed');
  });

  it('cli --json: run, agents, jobs and scripts print only the API JSON on stdout', async () => {
    await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: { name: 'cli-json-script', language: 'sh', content: 'echo hi' },
      }),
      201,
    );
    const [run, list, show, scripts] = await Promise.all([
      cli(['run', '--agent', 'db-1', '--json', '--', 'echo json-out'], env),
      cli(['agents', 'ls', '--tag', 'web', '--json'], env),
      cli(['agents', 'show', 'web-1', '--json'], env),
      cli(['scripts', 'ls', '--json'], env),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.run.status).toBe('succeeded');
    expect(summary.jobs).toEqual([
      expect.objectContaining({ agent_name: 'db-1', status: 'succeeded', output: 'json-out\n' }),
    ]);
    expect(
      JSON.parse(list.stdout)
        .map((a: { name: string }) => a.name)
        .sort(),
    ).toEqual(['web-1', 'web-2']);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'web-1', id: agents[0]?.id, tags: ['web'] });
    expect(JSON.parse(scripts.stdout).map((s: { name: string }) => s.name)).toContain('cli-json-script');

    const jobId = summary.jobs[0].id;
    const job = await cli(['jobs', 'show', jobId, '--json'], env);
    expect(JSON.parse(job.stdout)).toMatchObject({ id: jobId, status: 'succeeded', exit_code: 0 });
  });

  it('cli agents: ls filters and pages into a table; show finds an agent by name', async () => {
    const [web, limited, online, show, grouped] = await Promise.all([
      cli(['agents', 'ls', '--tag', 'web'], env),
      cli(['agents', 'ls', '--limit', '1'], env),
      cli(['agents', 'ls', '--status', 'online', '--search', 'db'], env),
      cli(['agents', 'show', 'db-1'], env),
      cli(['agents', 'ls', '--group', 'databases', '--json'], env),
    ]);
    const webRows = lines(web.stdout);
    expect(webRows[0]).toMatch(/^NAME\s+STATUS\s+CONNECTED/);
    expect(
      webRows
        .slice(1)
        .map((row) => row.split(/\s+/)[0])
        .sort(),
    ).toEqual(['web-1', 'web-2']);
    expect(lines(limited.stdout)).toHaveLength(2);
    expect(
      lines(online.stdout)
        .slice(1)
        .map((row) => row.split(/\s+/)[0]),
    ).toEqual(['db-1']);
    expect(show.stdout).toMatch(/^name:\s+db-1$/m);
    expect(show.stdout).toMatch(/^tags:\s+db$/m);
    expect(JSON.parse(grouped.stdout).map((a: { name: string }) => a.name)).toEqual(['db-1']);
  });

  it('cli jobs: tail follows a job to its end with its exit code; cancel stops one', async () => {
    const web1 = agents[0]?.id ?? '';
    const job = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${web1}/jobs`, {
        token: owner.token,
        body: { interpreter: 'sh', command: 'echo start; sleep 3; echo end; exit 4' },
      }),
      202,
    );
    // "start" is stored before the CLI follows the job: it must come from the fetch made once
    // subscribed, ahead of "end", which comes live
    await eventually(async () => (await jobOutput(server, owner, job.id)) === 'start\n');
    const tail = await cli(['jobs', 'tail', job.id], env);
    expect(tail.stdout).toBe('start\nend\n');
    expect(tail.code).toBe(4);
    expect(tail.stderr).toContain('failed (exit 4)');

    const long = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${web1}/jobs`, {
        token: owner.token,
        body: { interpreter: 'sh', command: 'sleep 30' },
      }),
      202,
    );
    const cancel = await cli(['jobs', 'cancel', long.id], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    await eventually(async () => {
      const seen = await call(server, 'GET', `/api/v1/jobs/${long.id}`, { token: owner.token });
      return seen.body.status === 'canceled';
    });
  });

  it('cli scripts run on a group and profiles apply on a tag report each agent', async () => {
    await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: {
          name: 'greet',
          language: 'sh',
          content: 'echo "hello $FP_PARAM_WHO x$FP_PARAM_TIMES"',
          parameters: [
            { name: 'who', type: 'string', required: true },
            { name: 'times', type: 'number' },
          ],
        },
      }),
      201,
    );
    await expectStatus(
      call(server, 'POST', '/api/v1/profiles', {
        token: owner.token,
        body: {
          name: 'baseline',
          tasks: [
            { name: 'first', action: 'command', interpreter: 'sh', content: 'echo one' },
            { name: 'second', action: 'command', interpreter: 'sh', content: 'exit 0' },
          ],
        },
      }),
      201,
    );
    const [script, profile] = await Promise.all([
      cli(
        ['scripts', 'run', 'greet', '--group', 'databases', '--param', 'who=ops', '--param', 'times=2'],
        env,
      ),
      cli(['profiles', 'apply', 'baseline', '--tag', 'web'], env),
    ]);
    expect(script.code, script.stderr).toBe(0);
    expect(lines(script.stdout)).toEqual(['db-1: hello ops x2']);
    expect(profile.code, profile.stderr).toBe(0);
    expect(lines(profile.stderr)).toEqual(
      expect.arrayContaining(['web-1  succeeded', 'web-2  succeeded', '2 agents: 2 succeeded']),
    );
  });

  it('cli enroll: prints the one-line install command, with a new token made from the flags', async () => {
    const [text, json] = await Promise.all([
      cli(['enroll', '--tag', 'web'], env),
      cli(
        ['enroll', '--os', 'windows', '--tag', 'db', '--uses', '3', '--expires-in-hours', '2', '--json'],
        env,
      ),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(lines(text.stdout)).toHaveLength(1);
    expect(text.stdout).toContain(server.url);
    expect(json.code, json.stderr).toBe(0);
    const created = JSON.parse(json.stdout);
    expect(created).toMatchObject({
      os: 'windows',
      arch: 'x64',
      command: expect.stringContaining(server.url),
    });
    expect(created.command).toContain(created.enrollment_token);
    const token = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${created.enrollment_token_id}`, { token: owner.token }),
      200,
    );
    expect(token).toMatchObject({ tags: ['db'], max_uses: 3 });
  });

  it('cli credentials: an API key from the environment works; none, or a dead login, is a clear error', async () => {
    const key = await expectStatus(
      call(server, 'POST', '/api/v1/api-keys', {
        token: owner.token,
        body: { name: 'cli key', role_id: await roleId(server, owner.token, 'operator') },
      }),
      201,
    );
    const keyEnv = {
      FLEETPLANE_CLI_CONFIG: path.join(dir, 'absent.json'),
      FLEETPLANE_API_KEY: key.secret,
      FLEETPLANE_SERVER: server.url,
    };
    const dead = path.join(dir, 'dead.json');
    writeFileSync(
      dead,
      JSON.stringify({
        server: server.url,
        access_token: 'expired',
        refresh_token: 'revoked',
        email: owner.email,
        org_id: owner.orgId,
      }),
    );
    const [viaKey, none, expired, badFlag] = await Promise.all([
      cli(['run', '--agent', 'web-2', '--', 'echo via key'], keyEnv),
      cli(['agents', 'ls'], { FLEETPLANE_CLI_CONFIG: path.join(dir, 'absent.json') }),
      cli(['agents', 'ls'], { FLEETPLANE_CLI_CONFIG: dead }),
      cli(['agents', 'ls', '--bogus'], env),
    ]);
    expect(viaKey.code, viaKey.stderr).toBe(0);
    expect(viaKey.stdout).toBe('web-2: via key\n');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('fleetplane: no credentials: run `fleetplane login');
    expect(none.stderr).toContain('FLEETPLANE_API_KEY');
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('log in again');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('usage: fleetplane agents ls');
  });
});

describe('cli completion', () => {
  it('cli completion: the bash script completes commands, subcommands and flags in a real bash', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-completion-'));
    try {
      const bash = await cli(['completion', 'bash'], {});
      expect(bash.code).toBe(0);
      const script = path.join(dir, 'fleetplane.bash');
      writeFileSync(script, bash.stdout);
      const complete = async (...words: string[]) => {
        const probe =
          `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); ` +
          'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _fleetplane; echo "${COMPREPLY[*]}"';
        const { stdout } = await promisify(execFile)('bash', ['-c', probe, 'probe', script]);
        return stdout.trim().split(' ').filter(Boolean).sort();
      };
      expect(await complete('fleetplane', 'ag')).toEqual(['agent', 'agents']);
      expect(await complete('fleetplane', 'agents', '')).toEqual(['ls', 'show']);
      expect(await complete('fleetplane', 'jobs', 't')).toEqual(['tail']);
      expect(await complete('fleetplane', 'run', '--ta')).toEqual(['--tag']);
      expect(await complete('fleetplane', 'agents', 'ls', '--tag', 'web', '--st')).toEqual(['--status']);
      // after -- comes the remote command: nothing of ours
      expect(await complete('fleetplane', 'run', '--all', '--', 'ec')).toEqual([]);

      const zsh = await cli(['completion', 'zsh'], {});
      expect(zsh.code).toBe(0);
      expect(zsh.stdout).toContain('compdef _fleetplane fleetplane');
      expect(zsh.stdout).toContain('("agents") candidates=(ls show)');
      expect((await cli(['completion', 'fish'], {})).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli progress line', () => {
  function terminalOn(isTTY: boolean) {
    const written: { stream: string; text: string }[] = [];
    const stream = (name: string) => ({
      isTTY,
      write: (text: string) => written.push({ stream: name, text }) > 0,
    });
    const terminal = new Terminal({
      stdout: stream('stdout') as unknown as NodeJS.WritableStream,
      stderr: stream('stderr') as unknown as NodeJS.WritableStream & { isTTY: boolean },
    });
    return { terminal, written };
  }

  it('cli progress: redrawn in place on a TTY, around other lines; plain lines, each once, elsewhere', () => {
    const tty = terminalOn(true);
    tty.terminal.progress('0/2 done');
    tty.terminal.out('web-1: hello');
    tty.terminal.progress('1/2 done');
    tty.terminal.endProgress();
    expect(tty.written).toEqual([
      { stream: 'stderr', text: '\r\x1b[K0/2 done' },
      // the progress line is wiped, the line written, the progress drawn again below it
      { stream: 'stderr', text: '\r\x1b[K' },
      { stream: 'stdout', text: 'web-1: hello\n' },
      { stream: 'stderr', text: '0/2 done' },
      { stream: 'stderr', text: '\r\x1b[K1/2 done' },
      { stream: 'stderr', text: '\r\x1b[K' },
    ]);

    const plain = terminalOn(false);
    plain.terminal.progress('0/2 done');
    plain.terminal.progress('0/2 done');
    plain.terminal.out('web-1: hello');
    plain.terminal.progress('1/2 done');
    plain.terminal.endProgress();
    expect(plain.written).toEqual([
      { stream: 'stderr', text: '0/2 done\n' },
      { stream: 'stdout', text: 'web-1: hello\n' },
      { stream: 'stderr', text: '1/2 done\n' },
    ]);
  });
});
