import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  openApiOperations,
  signup,
  type ApiOperation,
  type Reply,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { sample, slots, type IdFor, type Slot } from '../support/schema-values.js';
import { seedResources, type Resources } from './resources.js';

/**
 * A walk over the OpenAPI document: every path parameter, query parameter and body field of every
 * route gets hostile values, one at a time, the rest of the request valid. No answer may be a 5xx,
 * every 4xx has the one error shape, and control characters are a 400 naming the field. Routes
 * added later are walked without anyone listing them.
 */

const NUL = 'walk\u0000nul';
/** ESC is kept in shell text, DEL is the one control character outside C0. */
const CONTROLS = ['walk\u001b[31mred', 'walk\u007fdel'];
const SURROGATE = 'walk\ud800';
const METACHARACTERS = [
  "walk'; DROP TABLE agents; --",
  'walk $(reboot) `id` | rm -rf / && echo',
  '../../../../etc/passwd',
];
const HUGE = 'a'.repeat(100_000);
/** Below the 16 KiB header limit of Node, above every maxLength of a path or query value. */
const LONG_IN_URL = 'a'.repeat(8_000);

/** The rule the server enforces, written out again: what each `x-text` kind refuses. */
/* eslint-disable no-control-regex -- control characters are what these rules are about */
const REFUSED: Record<string, RegExp | undefined> = {
  plain: /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\p{Cs}/u,
  shell: /\u0000|\p{Cs}/u,
  output: undefined,
};
/* eslint-enable no-control-regex */

function refusedText(text: string, value: unknown): boolean {
  const rule = text in REFUSED ? REFUSED[text] : REFUSED.plain;
  const found = (v: unknown): boolean => {
    if (typeof v === 'string') return rule?.test(v) ?? false;
    if (Array.isArray(v)) return v.some(found);
    if (v && typeof v === 'object') return Object.entries(v).some(([k, inner]) => found(k) || found(inner));
    return false;
  };
  return found(value);
}

function deeplyNested(depth: number): unknown {
  let value: unknown = 'walk';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

const HOSTILE: Record<Slot['kind'], unknown[]> = {
  string: [NUL, ...CONTROLS, SURROGATE, ...METACHARACTERS, HUGE, 12345, null],
  number: [2147483648, -2147483649, 1e308, 0.5, '7', null],
  boolean: ['true', 1, null],
  any: [NUL, { 'walk\u0000': 1 }, { walk: ['x\u001b'] }, deeplyNested(2000), HUGE],
  key: [NUL, 'walk\u001b', '', 'k'.repeat(10_000)],
  container: ['walk', 1, null],
};
/** What a URL can carry: text only, an unpaired surrogate as the invalid UTF-8 it would be. */
const URL_VALUES = [
  ...[NUL, ...CONTROLS, ...METACHARACTERS, LONG_IN_URL, '', '2147483648', '1e308'].map((value) => ({
    value,
    encoded: encodeURIComponent(value),
  })),
  { value: undefined, encoded: '%ED%A0%80' },
  { value: undefined, encoded: '%FF%FE' },
];

/** Runs the tasks, `width` at a time: the walk is thousands of requests. */
async function inPool<T>(items: T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The one error shape, for any status. */
function hasErrorShape(body: any): boolean {
  return (
    typeof body?.error?.code === 'string' &&
    typeof body.error.message === 'string' &&
    Array.isArray(body.error.details) &&
    typeof body.request_id === 'string' &&
    Object.keys(body).sort().join() === 'error,request_id'
  );
}

function names(reply: Reply, field: string): boolean {
  return (
    reply.status === 400 &&
    reply.body?.error?.code === 'validation_failed' &&
    (reply.body.error.details as { field?: string }[]).some((d) => d.field === field)
  );
}

/** What is wrong with an answer to one hostile request, or undefined. */
function judge(reply: Reply, field: string, mustRefuse: boolean): string | undefined {
  if (reply.status >= 500) return `${reply.status} ${show(reply.body)}`;
  if (reply.status >= 400 && !hasErrorShape(reply.body)) return `${reply.status} without the error shape`;
  if (mustRefuse && !names(reply, field))
    return `not a 400 naming ${field}: ${reply.status} ${JSON.stringify(reply.body?.error ?? reply.body).slice(0, 300)}`;
  return undefined;
}

describe.each(dialects)('security: hostile input walk over the OpenAPI document on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let ops: ApiOperation[];
  let resources: Resources;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'walker');
    resources = await seedResources(server, owner);
    ops = await openApiOperations(server);
  });
  afterAll(async () => {
    await server.close();
  });

  /** Real ids in the path (random ones for DELETE, which must not remove what the walk uses). */
  function pathWith(op: ApiOperation, hostile?: { name: string; encoded: string }): string {
    return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      if (name === hostile?.name) return hostile.encoded;
      // a parameter from a fixed set (an OS, say) takes one of its values, so only the hostile one is wrong
      const schema = op.parameters.find((p) => p.in === 'path' && p.name === name)?.schema;
      if (schema && ('anyOf' in schema || 'enum' in schema))
        return encodeURIComponent(String(sample(schema, idFor)));
      if (op.method === 'DELETE') return name === 'version' ? '1' : randomUUID();
      if (name === 'version') return '1';
      const owner = /\/([^/]+)\/\{id\}/.exec(op.path)?.[1] ?? '';
      const id = name === 'taskId' || name === 'targetId' ? resources.tasks[owner] : resources.byPath[owner];
      return id ?? randomUUID();
    });
  }

  const idFor: IdFor = (property) => {
    const { byPath, tasks } = resources;
    const known: Record<string, string | undefined> = {
      agent_id: byPath.agents,
      agent_ids: byPath.agents,
      script_id: byPath.scripts,
      group_id: byPath['agent-groups'],
      profile_id: byPath.profiles,
      auto_profile_id: byPath.profiles,
      role_id: byPath.roles,
      role_ids: byPath.roles,
      task_ids: tasks.profiles,
      job_id: byPath.jobs,
      service_id: byPath.services,
      org_id: owner.orgId,
    };
    return known[property ?? ''];
  };

  /**
   * Sends to the route as its caller would: the agent's token on the agent channel, the runner's
   * on the runner's, a deploy script's on its reports, an enrollment token on a new machine's
   * installer, a valid body by default.
   */
  function send(op: ApiOperation, route: string, body?: unknown): Promise<Reply> {
    const tokens: Record<string, string> = {
      agent: resources.agentToken,
      robot: resources.robotToken,
      deployment: resources.deploymentToken,
      enrollment: resources.enrollmentToken,
    };
    const auth = tokens[op.permission ?? ''] ?? owner.token;
    return call(server, op.method, route, {
      token: auth,
      ...(body !== undefined ? { body } : op.body ? { body: sample(op.body, idFor) } : {}),
    });
  }

  function bodySlots(op: ApiOperation): Slot[] {
    return op.body ? slots(op.body, idFor) : [];
  }

  it('security: the walk covers every route with something to vary, and the fields that matter', () => {
    const varied = ops.filter((op) => op.parameters.length > 0 || op.body);
    expect(varied.length).toBeGreaterThan(60);
    const fields = ops.flatMap((op) =>
      bodySlots(op).map((slot) => `${op.method} ${op.path} body.${slot.field}`),
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        'POST /api/v1/agent-groups body.name',
        'POST /api/v1/scripts body.name',
        'POST /api/v1/agents body.name',
        'POST /api/v1/profiles body.tasks.0.name',
        'PATCH /api/v1/agents/{id} body.notes',
        'POST /api/v1/agent/jobs/{id}/events body.events.0.data',
      ]),
    );
    // The document shows which text keeps control characters: the walk reads its rules from there.
    const rules = Object.fromEntries(
      ops.flatMap((op) =>
        bodySlots(op).map((slot) => [`${op.method} ${op.path} body.${slot.field}`, slot.text]),
      ),
    );
    expect(rules).toMatchObject({
      'POST /api/v1/scripts body.content': 'shell',
      'POST /api/v1/agents/{id}/jobs body.command': 'shell',
      'POST /api/v1/profiles body.tasks.0.content': 'shell',
      'POST /api/v1/agent/jobs/{id}/events body.events.0.data': 'output',
      'POST /api/v1/scripts body.name': 'plain',
    });
    const query = ops.flatMap((op) =>
      op.parameters.filter((p) => p.in === 'query').map((p) => `${op.path}?${p.name}`),
    );
    expect(query).toEqual(
      expect.arrayContaining(['/api/v1/agents?q', '/api/v1/audit?entity_type', '/api/v1/runs?status']),
    );
  });

  it('security: hostile path parameters answer no 5xx, and control characters a 400 naming them', async () => {
    const wrong: string[] = [];
    await inPool(ops, 4, async (op) => {
      for (const param of op.parameters.filter((p) => p.in === 'path'))
        for (const { value, encoded } of URL_VALUES) {
          const reply = await send(op, pathWith(op, { name: param.name, encoded }));
          const mustRefuse = typeof value === 'string' && refusedText('plain', value);
          const problem = judge(reply, `params.${param.name}`, mustRefuse);
          if (problem)
            wrong.push(`${op.method} ${op.path} {${param.name}} <= ${show(value ?? encoded)}: ${problem}`);
        }
    });
    expect(wrong).toEqual([]);
  }, 60_000);

  it('security: hostile query parameters answer no 5xx, and control characters a 400 naming them', async () => {
    const wrong: string[] = [];
    await inPool(ops, 4, async (op) => {
      for (const param of op.parameters.filter((p) => p.in === 'query'))
        for (const { value, encoded } of URL_VALUES) {
          const reply = await send(op, `${pathWith(op)}?${param.name}=${encoded}`);
          const mustRefuse = typeof value === 'string' && refusedText('plain', value);
          const problem = judge(reply, `querystring.${param.name}`, mustRefuse);
          if (problem)
            wrong.push(`${op.method} ${op.path}?${param.name} <= ${show(value ?? encoded)}: ${problem}`);
        }
    });
    expect(wrong).toEqual([]);
  }, 60_000);

  it('security: hostile values in every body field answer no 5xx, and control characters a 400 naming the field', async () => {
    const wrong: string[] = [];
    let sent = 0;
    /** Hostile values that are valid text (SQL, shell, `../`) are taken: the walk reaches the handlers. */
    let accepted = 0;
    await inPool(ops, 4, async (op) => {
      for (const slot of bodySlots(op))
        for (const value of HOSTILE[slot.kind]) {
          const field = slot.field ? `body.${slot.field}` : 'body';
          const text = slot.kind === 'string' ? slot.text : 'plain';
          const mustRefuse = ['string', 'any', 'key'].includes(slot.kind) && refusedText(text, value);
          const reply = await send(op, pathWith(op), slot.place(value));
          sent += 1;
          if (reply.status < 300) accepted += 1;
          const problem = judge(reply, field, mustRefuse);
          if (problem)
            wrong.push(`${op.method} ${op.path} ${field} (${slot.kind}) <= ${show(value)}: ${problem}`);
        }
    });
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(2000);
    expect(accepted).toBeGreaterThan(100);
  }, 120_000);

  it('security: after the walk the server still answers /health and renders /openapi.json', async () => {
    expect((await call(server, 'GET', '/health')).status).toBe(200);
    const doc = await call(server, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).length).toBeGreaterThan(50);
  });
});
