import { call, expectStatus, uniqueName, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

export async function createQueue(server: TestServer, owner: Session, body: Record<string, unknown> = {}) {
  return expectStatus(
    call(server, 'POST', '/api/v1/queues', {
      token: owner.token,
      body: { name: uniqueName('queue'), ...body },
    }),
    201,
  );
}

export async function addItem(
  server: TestServer,
  owner: Session,
  queueId: string,
  body: Record<string, unknown> = {},
) {
  return expectStatus(
    call(server, 'POST', `/api/v1/queues/${queueId}/items`, {
      token: owner.token,
      body: { content: { n: 1 }, ...body },
    }),
    201,
  );
}

export function claim(server: TestServer, owner: Session, queueId: string) {
  return call(server, 'POST', `/api/v1/queues/${queueId}/items/claim`, { token: owner.token });
}

export function itemAction(
  server: TestServer,
  owner: Session,
  id: string,
  action: 'complete' | 'fail' | 'progress',
  body: unknown,
) {
  return call(server, 'POST', `/api/v1/queue-items/${id}/${action}`, { token: owner.token, body });
}

export async function stats(server: TestServer, owner: Session, queueId: string) {
  return expectStatus(call(server, 'GET', `/api/v1/queues/${queueId}/stats`, { token: owner.token }), 200);
}
