import { addMember, call, expectStatus, signup, uniqueName, type Session } from '../../support/client.js';
import type { TestServer } from '../../support/harness.js';

/** Who reads the event of a call, and who the event must name as its actor. */
export interface Outcome {
  reader: string;
  actorType: string;
  actorId: string | null;
}

/** One call of an operation, made ready by its case. */
export interface Prepared {
  /** Values of the `{param}`s of the path. */
  params?: Record<string, string>;
  body?: unknown;
  /** Who calls: the owner unless given; null for a call without credentials. */
  caller?: Session | null;
  /**
   * The audited entity: the `{id}` of the path unless given; from the answer when it is new; null
   * when the caller is never shown it (the event must still name one).
   */
  entityId?: string | null | ((reply: any) => string);
  /** Where the event is read and whom it names, when not the caller in its organisation. */
  outcome?: (reply: any) => Partial<Outcome> | Promise<Partial<Outcome>>;
  check?: (event: any, reply: any) => void;
  /** Puts back, after the event is checked, a change the cases after it would trip on. */
  undo?: () => Promise<void>;
}

/** The audit event one mutating operation must write, and how to make the operation succeed. */
export interface AuditCase {
  action: string;
  entityType: string;
  /** Whether the event holds a `before` and an `after`. */
  before: boolean;
  after: boolean;
  prepare(f: AuditFixture): Promise<Prepared>;
}

/** Cases by operation, `METHOD /path` as the OpenAPI document spells it. */
export type AuditCases = Record<string, AuditCase>;

/** The session id inside an access token: what login, refresh and logout events name. */
export function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid: string }).sid;
}

/** Fresh rows for each case, made by the owner of one organisation, so every case starts clean. */
export class AuditFixture {
  constructor(
    readonly server: TestServer,
    readonly owner: Session,
  ) {}

  /** Calls as the owner (or `session`) and answers the body, failing unless the status is `status`. */
  as(method: string, route: string, body?: unknown, status = 201, session = this.owner): Promise<any> {
    return expectStatus(
      call(this.server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) }),
      status,
    );
  }

  async roleId(name: string): Promise<string> {
    const roles = await this.as('GET', '/api/v1/access/roles?limit=200', undefined, 200);
    return roles.items.find((r: { name: string }) => r.name === name).id;
  }

  role(): Promise<any> {
    return this.as('POST', '/api/v1/access/roles', {
      name: uniqueName('role'),
      description: 'for audit',
      permissions: ['users:read'],
    });
  }

  member(role = 'viewer'): Promise<Session> {
    return addMember(this.server, this.owner, role);
  }

  /** A user of an organisation of their own. */
  user(label: string): Promise<Session> {
    return signup(this.server, label);
  }

  /** The reset token of the last mail to this email; the log is read, as an operator would. */
  resetTokenFor(email: string): string {
    const mail = this.server.logs
      .map((line) => line.mail as { to: string; text: string } | undefined)
      .filter((m) => m?.to === email)
      .at(-1);
    const token = mail?.text.match(/fpw_[\w-]+/)?.[0];
    if (!token) throw new Error(`no reset mail to ${email} in the server log`);
    return token;
  }

  /** A machine record with no agent process behind it: its jobs stay queued. */
  async agent(): Promise<string> {
    const created = await this.as('POST', '/api/v1/agents', {
      name: uniqueName('machine'),
      os_type: 'ubuntu',
    });
    return created.agent.id;
  }

  group(): Promise<any> {
    return this.as('POST', '/api/v1/agent-groups', { name: uniqueName('group'), description: 'for audit' });
  }

  enrollmentToken(): Promise<any> {
    return this.as('POST', '/api/v1/enrollment-tokens', { name: uniqueName('enrollment') });
  }

  script(): Promise<any> {
    return this.as('POST', '/api/v1/scripts', {
      name: uniqueName('script'),
      language: 'sh',
      content: 'echo audited',
    });
  }

  /** A profile or template with two command tasks. */
  profile(kind: 'profiles' | 'templates'): Promise<any> {
    const task = (name: string) => ({ name, action: 'command', interpreter: 'sh', content: `echo ${name}` });
    return this.as('POST', `/api/v1/${kind}`, { name: uniqueName(kind), tasks: [task('one'), task('two')] });
  }

  async schedule(enabled = true): Promise<any> {
    const script = await this.script();
    return this.as('POST', '/api/v1/schedules', {
      name: uniqueName('schedule'),
      action: { kind: 'script', script_id: script.id },
      target: { agent_ids: [await this.agent()] },
      interval_seconds: 3600,
      enabled,
    });
  }

  /** A queued job. */
  async job(): Promise<any> {
    return this.as(
      'POST',
      `/api/v1/agents/${await this.agent()}/jobs`,
      { interpreter: 'sh', command: 'true' },
      202,
    );
  }

  /** A running run whose job waits for an agent that never comes. */
  async run(): Promise<any> {
    return this.as(
      'POST',
      '/api/v1/runs',
      { target: { agent_ids: [await this.agent()] }, job: { interpreter: 'sh', command: 'true' } },
      202,
    );
  }
}
