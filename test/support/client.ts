import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestServer } from './harness.js';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  apiKey?: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/** A real HTTP call to the server under test. */
export async function call<T = any>(
  server: Pick<TestServer, 'url'>,
  method: string,
  route: string,
  options: CallOptions = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | FormData | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body instanceof FormData) {
    // multipart (a package upload): fetch writes the content type, with its boundary
    body = options.body;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const response = await fetch(`${server.url}${route}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (metrics, docs): keep the text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export interface Session {
  token: string;
  refreshToken: string;
  userId: string;
  orgId: string;
  email: string;
  password: string;
}

export const PASSWORD = 'correct horse battery staple';

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(5).toString('hex')}@example.test`;
}

export function uniqueName(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

function session(body: any, password: string): Session {
  return {
    token: body.access_token,
    refreshToken: body.refresh_token,
    userId: body.user.id,
    orgId: body.org.id,
    email: body.user.email,
    password,
  };
}

/** Signs up a new user, who owns a new organisation. */
export async function signup(server: Pick<TestServer, 'url'>, label = 'owner'): Promise<Session> {
  const email = uniqueEmail(label);
  const reply = await call(server, 'POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: label, org_name: `${label} org` },
  });
  if (reply.status !== 201) throw new Error(`signup failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return session(reply.body, PASSWORD);
}

/** Adds a member with a built-in or custom role to the owner's organisation, through a real invite. */
export async function addMember(
  server: Pick<TestServer, 'url'>,
  owner: Session,
  roleName: string,
): Promise<Session> {
  const roles = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
  const role = roles.body.items.find((r: { name: string }) => r.name === roleName);
  if (!role) throw new Error(`no role ${roleName}`);
  const email = uniqueEmail(roleName);
  const invite = await call(server, 'POST', '/api/v1/access/invites', {
    token: owner.token,
    body: { email, role_id: role.id },
  });
  if (invite.status !== 201)
    throw new Error(`invite failed: ${invite.status} ${JSON.stringify(invite.body)}`);
  const joined = await call(server, 'POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: roleName, invite_token: invite.body.token },
  });
  if (joined.status !== 201) throw new Error(`join failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  return session(joined.body, PASSWORD);
}

/** Logs in with email and password; throws unless it succeeds. */
export async function login(
  server: Pick<TestServer, 'url'>,
  email: string,
  password = PASSWORD,
): Promise<Session> {
  const reply = await call(server, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return session(reply.body, password);
}

/** The id of a role, by name, in the organisation of the token. */
export async function roleId(server: Pick<TestServer, 'url'>, token: string, name: string): Promise<string> {
  const roles = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token });
  const role = roles.body.items?.find((r: { name: string }) => r.name === name);
  if (!role) throw new Error(`no role ${name}: ${roles.status} ${JSON.stringify(roles.body)}`);
  return role.id;
}

/** Asserts a reply (or the reply to come) has this status, showing its body when not; answers the body. */
export async function expectStatus<T = any>(reply: Reply<T> | Promise<Reply<T>>, status: number): Promise<T> {
  const r = await reply;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

/** Asserts a reply is an error with the one error shape, this status and this code. */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
  expect(reply.body).toEqual({
    error: { code, message: expect.any(String), details: expect.any(Array) },
    request_id: expect.any(String),
  });
  expect(reply.body.error.message.length).toBeGreaterThan(0);
}

/** A 503 `not_ready` (the database or the other nodes out of reach) that says when to come back. */
export function expectNotReady(reply: Reply): void {
  expectError(reply, 503, 'not_ready');
  expect(reply.body.error.details).toEqual([]);
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
}

/** The audit events of one entity, oldest first. */
export async function auditOf(
  server: Pick<TestServer, 'url'>,
  owner: Session,
  entityType: string,
  entityId: string,
): Promise<any[]> {
  const reply = await expectStatus(
    call(server, 'GET', `/api/v1/audit?entity_type=${entityType}&entity_id=${entityId}&limit=200`, {
      token: owner.token,
    }),
    200,
  );
  return [...reply.items].reverse();
}

export interface ApiOperation {
  method: string;
  /** The OpenAPI path, with `{param}` placeholders. */
  path: string;
  /** The `x-permission` the operation declares; undefined when it declares none. */
  permission: string | undefined;
  /** Its query parameters, with the `format` their schema gives (`uuid`, `date-time`…) if any. */
  query: { name: string; format: string | undefined }[];
  /** Whether its success answer is a list: an object with an `items` array. */
  returnsList: boolean;
  /** Path, query and header parameters, with their schemas. */
  parameters: ApiParameter[];
  /** The JSON request body's schema; undefined when the operation takes none. */
  body: JsonSchema | undefined;
}

/** A JSON Schema object as the OpenAPI document renders it: open-ended JSON. */
export type JsonSchema = Record<string, any>;

export interface ApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

/** Whether the first 2xx answer of an OpenAPI operation is an object with an `items` array. */
function returnsList(op: any): boolean {
  const responses = (op.responses ?? {}) as Record<string, any>;
  const success = Object.keys(responses).find((code) => code.startsWith('2'));
  const schema = success ? responses[success]?.content?.['application/json']?.schema : undefined;
  return schema?.properties?.items?.type === 'array';
}

/** Every operation of the server's OpenAPI document: its permission, parameters and body schema. */
export async function openApiOperations(server: Pick<TestServer, 'url'>): Promise<ApiOperation[]> {
  const doc = await call(server, 'GET', '/openapi.json');
  if (doc.status !== 200) throw new Error(`openapi.json: ${doc.status}`);
  const methods = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];
  return Object.entries(doc.body.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => methods.includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        permission: op['x-permission'] as string | undefined,
        query: ((op.parameters ?? []) as any[])
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name as string, format: p.schema?.format as string | undefined })),
        returnsList: returnsList(op),
        parameters: (op.parameters ?? []) as ApiParameter[],
        body: op.requestBody?.content?.['application/json']?.schema as JsonSchema | undefined,
      })),
  );
}
