import { call, expectStatus, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

/** A deploy script with one parameter of each kind; override any field. */
export function scriptBody(overrides: Record<string, unknown> = {}) {
  return {
    name: `deploy-${Math.random().toString(36).slice(2, 10)}`,
    description: 'deploys the web app',
    language: 'bash',
    content: 'echo "deploying $FP_PARAM_VERSION"',
    parameters: [
      { name: 'version', type: 'string', required: true },
      { name: 'replicas', type: 'number', default: 2 },
      { name: 'dry_run', type: 'boolean', default: false },
      { name: 'stage', type: 'enum', values: ['dev', 'prod'], default: 'dev' },
      { name: 'api_token', type: 'secret' },
    ],
    tags: ['web'],
    timeout_seconds: 120,
    ...overrides,
  };
}

export async function createScript(
  server: TestServer,
  owner: Session,
  overrides: Record<string, unknown> = {},
): Promise<any> {
  return expectStatus(
    call(server, 'POST', '/api/v1/scripts', { token: owner.token, body: scriptBody(overrides) }),
    201,
  );
}
