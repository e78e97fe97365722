import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, expectError, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const MASK = '********';

const DEFAULTS = {
  general: { instance_name: 'Fleetplane', timezone: 'UTC' },
  security: { allow_signup: true, password_min_length: 8, api_key_max_ttl_days: 0 },
  jobs: {
    default_timeout_seconds: 300,
    max_attempts: 1,
    output_cap_bytes: 1_048_576,
    output_retention_days: 0,
  },
  email: {
    smtp_host: '',
    smtp_port: 587,
    smtp_secure: false,
    smtp_user: '',
    smtp_password: '',
    from_address: 'fleetplane@localhost',
  },
  logging: { level: 'info', audit_retention_days: 365 },
  ai: {
    enabled: false,
    provider_url: '',
    model: '',
    api_key: '',
    safety_check: true,
    max_tokens: 1024,
    temperature: 0.2,
    timeout_seconds: 30,
    system_prompt_extra: '',
  },
  packages: { max_upload_mib: 100, max_files: 10_000, max_unpacked_mib: 1024 },
  webhooks: { timeout_seconds: 10, max_attempts: 8, pause_after_failures: 20 },
  metrics: { raw_retention_hours: 2, minute_retention_days: 7, hour_retention_days: 90 },
  alerts: { evaluation_interval_seconds: 30 },
};

describe.each(dialects)('settings on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  function storedRow(orgId: string, group: string, key: string) {
    return server.database.db
      .selectFrom('settings')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('group_name', '=', group)
      .where('key', '=', key)
      .executeTakeFirst();
  }

  function put(session: Session, group: string, body: unknown) {
    return call(server, 'PUT', `/api/v1/settings/${group}`, { token: session.token, body });
  }

  it('settings: GET returns every group with its defaults, and each group alone agrees', async () => {
    const fresh = await signup(server, 'fresh');
    const all = await call(server, 'GET', '/api/v1/settings', { token: fresh.token });
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [group, defaults] of Object.entries(DEFAULTS)) {
      expect(all.body[group], group).toMatchObject(defaults);
      const one = await call(server, 'GET', `/api/v1/settings/${group}`, { token: fresh.token });
      expect(one.status).toBe(200);
      expect(one.body).toEqual(all.body[group]);
    }
    expectError(
      await call(server, 'GET', '/api/v1/settings/nonsense', { token: fresh.token }),
      404,
      'not_found',
    );
  });

  it('settings: PUT changes only the keys sent and GET reads them back', async () => {
    const reply = await put(owner, 'jobs', { max_attempts: 5, default_timeout_seconds: 60 });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ ...DEFAULTS.jobs, max_attempts: 5, default_timeout_seconds: 60 });
    const read = await call(server, 'GET', '/api/v1/settings/jobs', { token: owner.token });
    expect(read.body).toEqual(reply.body);
    const again = await put(owner, 'jobs', { output_cap_bytes: 4096 });
    expect(again.body).toMatchObject({
      max_attempts: 5,
      default_timeout_seconds: 60,
      output_cap_bytes: 4096,
    });
    // Another organisation keeps its own values.
    const other = await signup(server, 'other');
    const theirs = await call(server, 'GET', '/api/v1/settings/jobs', { token: other.token });
    expect(theirs.body).toMatchObject(DEFAULTS.jobs);
  });

  it('settings: PUT with a wrong type or out-of-range value is 400 validation_failed and changes nothing', async () => {
    const before = await call(server, 'GET', '/api/v1/settings', { token: owner.token });
    const cases: [group: string, body: Record<string, unknown>, field: string][] = [
      ['email', { smtp_port: '25' }, 'body.smtp_port'],
      ['security', { allow_signup: 'yes' }, 'body.allow_signup'],
      ['jobs', { max_attempts: 0 }, 'body.max_attempts'],
      ['jobs', { default_timeout_seconds: 1.5 }, 'body.default_timeout_seconds'],
      ['logging', { level: 'verbose' }, 'body.level'],
      ['general', { instance_name: '' }, 'body.instance_name'],
      ['ai', { enabled: 1 }, 'body.enabled'],
    ];
    for (const [group, body, field] of cases) {
      const reply = await put(owner, group, body);
      expectError(reply, 400, 'validation_failed');
      expect(
        reply.body.error.details.map((d: { field: string }) => d.field),
        JSON.stringify(body),
      ).toContain(field);
    }
    const after = await call(server, 'GET', '/api/v1/settings', { token: owner.token });
    expect(after.body).toEqual(before.body);
  });

  it('settings: PUT with an unknown key is 400 and changes nothing', async () => {
    const reply = await put(owner, 'email', { smtp_host: 'mail.example.test', smtp_hostname: 'typo' });
    expectError(reply, 400, 'validation_failed');
    expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain('body.smtp_hostname');
    const read = await call(server, 'GET', '/api/v1/settings/email', { token: owner.token });
    expect(read.body.smtp_host).toBe('');
    expectError(await put(owner, 'general', { email: { smtp_host: 'x' } }), 400, 'validation_failed');
    expectError(await put(owner, 'general', []), 400, 'validation_failed');
  });

  for (const [group, key, secret] of [
    ['email', 'smtp_password', 'smtp-Clear-Secret-123'],
    ['ai', 'api_key', 'sk-ai-Clear-Secret-456'],
  ] as const) {
    it(`settings: ${group}.${key} is masked in every answer, encrypted at rest, and kept when the mask is sent back`, async () => {
      const org = await signup(server, `secret-${group}`);
      const written = await put(org, group, { [key]: secret });
      expect(written.status).toBe(200);
      expect(written.body[key]).toBe(MASK);
      const one = await call(server, 'GET', `/api/v1/settings/${group}`, { token: org.token });
      expect(one.body[key]).toBe(MASK);
      const all = await call(server, 'GET', '/api/v1/settings', { token: org.token });
      expect(all.body[group][key]).toBe(MASK);
      for (const reply of [written, one, all]) expect(JSON.stringify(reply.body)).not.toContain(secret);

      const row = await storedRow(org.orgId, group, key);
      expect(row).toBeDefined();
      expect(row!.value.startsWith('v1:')).toBe(true);
      expect(row!.value).not.toContain(secret);
      expect(Number(row!.encrypted)).toBe(1);
      expect(await server.app.services.settings.read(org.orgId, group)).toMatchObject({ [key]: secret });

      // Changing another key of the group, without the secret, leaves the secret alone.
      const other = group === 'email' ? { smtp_user: 'mailer' } : { model: 'small-model' };
      const sibling = await put(org, group, other);
      expect(sibling.body).toMatchObject({ ...other, [key]: MASK });
      expect((await storedRow(org.orgId, group, key))!.value).toBe(row!.value);

      // Sending the mask back, as a form that round-trips the whole group would, keeps it too.
      const echoed = await put(org, group, { ...written.body, ...other });
      expect(echoed.status).toBe(200);
      expect(echoed.body).toMatchObject({ ...other, [key]: MASK });
      const rowAfter = await storedRow(org.orgId, group, key);
      expect(rowAfter!.value).toBe(row!.value);
      expect(await server.app.services.settings.read(org.orgId, group)).toMatchObject({
        ...other,
        [key]: secret,
      });

      // A new value is sealed afresh; an empty one clears the secret.
      await put(org, group, { [key]: `${secret}-v2` });
      const rotated = await storedRow(org.orgId, group, key);
      expect(rotated!.value.startsWith('v1:')).toBe(true);
      expect(rotated!.value).not.toBe(row!.value);
      expect(await server.app.services.settings.read(org.orgId, group)).toMatchObject({
        [key]: `${secret}-v2`,
      });
      const cleared = await put(org, group, { [key]: '' });
      expect(cleared.body[key]).toBe('');
      expect(await server.app.services.settings.read(org.orgId, group)).toMatchObject({ [key]: '' });
    });
  }

  it('settings: a viewer can read settings but not write them (403)', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    const read = await call(server, 'GET', '/api/v1/settings', { token: viewer.token });
    expect(read.status).toBe(200);
    expect(Object.keys(read.body).sort()).toEqual(Object.keys(DEFAULTS).sort());
    const group = await call(server, 'GET', '/api/v1/settings/general', { token: viewer.token });
    expect(group.status).toBe(200);
    expectError(await put(viewer, 'general', { instance_name: 'Viewer was here' }), 403, 'forbidden');
    const after = await call(server, 'GET', '/api/v1/settings/general', { token: owner.token });
    expect(after.body.instance_name).toBe(DEFAULTS.general.instance_name);
  });
});
