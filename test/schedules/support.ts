import { call, expectStatus, uniqueName, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * Settings for servers whose clock the test moves: the background tick never comes (the test
 * calls `scheduler.tick()` itself) and sessions outlive the days the clock is moved on.
 */
export const movedClockConfig = {
  schedules: { tickMs: DAY },
  accessTokenTtlMs: 30 * DAY,
  refreshTokenTtlMs: 60 * DAY,
};

/** A sh script with one required parameter. */
export async function createScript(
  server: TestServer,
  owner: Session,
  overrides: Record<string, unknown> = {},
): Promise<any> {
  return expectStatus(
    call(server, 'POST', '/api/v1/scripts', {
      token: owner.token,
      body: {
        name: uniqueName('backup'),
        language: 'sh',
        content: 'echo "backing up $FP_PARAM_PATH"',
        parameters: [
          { name: 'path', type: 'string', required: true },
          { name: 'api_key', type: 'secret' },
        ],
        ...overrides,
      },
    }),
    201,
  );
}

/** An interval schedule of the script on the agents; override any field. */
export function scheduleBody(scriptId: string, agentIds: string[], overrides: Record<string, unknown> = {}) {
  return {
    name: uniqueName('nightly'),
    action: { kind: 'script', script_id: scriptId, parameters: { path: '/var' } },
    target: { agent_ids: agentIds },
    interval_seconds: 300,
    ...overrides,
  };
}

export async function createSchedule(server: TestServer, owner: Session, body: unknown): Promise<any> {
  return expectStatus(call(server, 'POST', '/api/v1/schedules', { token: owner.token, body }), 201);
}

export async function getSchedule(server: TestServer, owner: Session, id: string): Promise<any> {
  return expectStatus(call(server, 'GET', `/api/v1/schedules/${id}`, { token: owner.token }), 200);
}

/** The organisation's runs, newest first. */
export async function runsOf(server: TestServer, owner: Session): Promise<any[]> {
  return (await expectStatus(call(server, 'GET', '/api/v1/runs?limit=200', { token: owner.token }), 200))
    .items;
}
