import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadySeeded, seedDemo, type SeedReport } from '../../src/cli/seed.js';
import { call, expectError, expectStatus, login } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { starterCommands } from '../../src/server/modules/scripts/scripts.starter.js';

/** The demo data, made by the same function `fleetplane db seed` calls, on a test database. */
describe.each(dialects)('cli: db seed on %s', (dialect) => {
  let server: TestServer;
  let seeded: SeedReport;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    seeded = await seedDemo(server.database, server.app.services);
  });
  afterAll(async () => {
    await server.close();
  });

  it('seed: a user of each role signs in with the printed password and holds that role', async () => {
    expect(seeded.org).toBe('Demo');
    expect(seeded.users.map((u) => u.role)).toEqual(['owner', 'admin', 'operator', 'viewer']);
    for (const user of seeded.users) {
      const session = await login(server, user.email, user.password);
      const me = await expectStatus(call(server, 'GET', '/api/v1/auth/me', { token: session.token }), 200);
      expect(me.roles.map((r: { name: string }) => r.name)).toEqual([user.role]);
      expect(me.org.name).toBe('Demo');
    }
  });

  it('seed: the organisation has its ping and disk scripts, a baseline per platform, a schedule and a working API key', async () => {
    const owner = await login(server, 'owner@demo.fleetplane.local', seeded.users[0]!.password);
    const get = (route: string) => expectStatus(call(server, 'GET', route, { token: owner.token }), 200);
    const scripts = (await get('/api/v1/scripts?kind=script&limit=50')).items;
    expect(scripts.map((s: any) => [s.name, s.language, s.target_os_type]).sort()).toEqual([
      ['Disk report (Linux)', 'sh', 'linux'],
      ['Disk report (Windows)', 'powershell', 'windows'],
      ['Ping the WAN (Linux)', 'sh', 'linux'],
      ['Ping the WAN (Windows)', 'powershell', 'windows'],
    ]);
    // and the starter commands every new organisation has
    expect((await get('/api/v1/scripts?tag=starter&limit=50')).items).toHaveLength(starterCommands.length);
    const profiles = (await get('/api/v1/profiles?limit=50')).items;
    expect(profiles.map((p: any) => [p.name, p.target_os_type]).sort()).toEqual([
      ['Linux baseline', 'linux'],
      ['Windows baseline', 'windows'],
    ]);
    const linux = profiles.find((p: any) => p.name === 'Linux baseline');
    const tasks = (await get(`/api/v1/profiles/${linux.id}/tasks`)).items;
    expect(tasks.map((t: any) => t.script_id)).toEqual([
      scripts.find((s: any) => s.name === 'Ping the WAN (Linux)').id,
      scripts.find((s: any) => s.name === 'Disk report (Linux)').id,
    ]);
    const schedules = (await get('/api/v1/schedules')).items;
    expect(schedules).toEqual([
      expect.objectContaining({
        name: 'Nightly disk report',
        enabled: true,
        cron: '0 2 * * *',
        next_fire_at: expect.any(String),
      }),
    ]);
    // the key printed once works, with the operator's permissions
    const secret = seeded.content
      .find((line) => line.startsWith('API key'))
      ?.split(': ')
      .at(-1);
    expect(secret).toMatch(/^fpk_/);
    await expectStatus(call(server, 'GET', '/api/v1/scripts', { apiKey: secret }), 200);
    expectError(
      await call(server, 'DELETE', `/api/v1/scripts/${scripts[0].id}`, { apiKey: secret }),
      403,
      'forbidden',
    );
    // each was made through the services, so each is in the audit log
    const audit = (await get('/api/v1/audit?limit=200')).items.map((e: any) => e.entity_type);
    expect(audit).toEqual(expect.arrayContaining(['script', 'profile', 'schedule', 'api_key']));
  });

  it('seed: a webhook for failed work and offline agents, disabled until pointed at a real receiver', async () => {
    const { token } = await login(server, 'owner@demo.fleetplane.local', seeded.users[0]!.password);
    const hooks = await expectStatus(call(server, 'GET', '/api/v1/webhooks', { token }), 200);
    expect(hooks.items).toEqual([
      expect.objectContaining({
        events: ['job.finished', 'run.finished', 'agent.offline'],
        enabled: false,
        status: 'active',
      }),
    ]);
    expect(seeded.content.find((line) => line.startsWith('webhook'))).toMatch(/whsec_/);
  });

  it('seed: a second seed refuses clearly and adds nothing', async () => {
    const before = await server.database.db.selectFrom('scripts').select('id').execute();
    await expect(seedDemo(server.database, server.app.services)).rejects.toThrow(AlreadySeeded);
    await expect(seedDemo(server.database, server.app.services)).rejects.toThrow(/already seeded/);
    expect(await server.database.db.selectFrom('scripts').select('id').execute()).toHaveLength(before.length);
    expect(await server.database.db.selectFrom('orgs').select('id').execute()).toHaveLength(1);
  });
});
