import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadPackage, processBody } from '../processes/support.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, type TestServer } from '../support/harness.js';

/**
 * A queue's trigger starts jobs of its process while items wait, never more than its maximum at
 * once (counting the process's jobs not yet ended), each pooled on the process's robot pool with
 * the queue named (`queue_id`, FP_QUEUE_ID in its environment); none once the queue is empty.
 */
describe.each(dialects)('queue trigger on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, body });

  beforeAll(async () => {
    server = await startTestServer(dialect, { config: HAND_DRIVEN });
    owner = await signup(server, 'trigger');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('starts up to trigger_max_jobs pooled jobs while items wait, and none when the queue is empty', async () => {
    const pkg = await uploadPackage(server, owner, 'trigger-bot', '1.0.0');
    const process = await expectStatus(
      api(
        'POST',
        '/api/v1/processes',
        processBody(pkg.name, { name: 'drain invoices', robot_pool: 'night' }),
      ),
      201,
    );
    const queue = await expectStatus(
      api('POST', '/api/v1/queues', {
        name: 'triggered',
        trigger_process_id: process.id,
        trigger_max_jobs: 2,
      }),
      201,
    );
    const jobs = async () =>
      (await expectStatus(api('GET', `/api/v1/process-jobs?process_id=${process.id}&limit=200`), 200)).items;
    const sweep = () => server.app.services.queueSweeper.sweep();

    await sweep();
    expect(await jobs()).toHaveLength(0);

    const items = Array.from({ length: 5 }, (_, n) => ({ content: { n } }));
    await expectStatus(api('POST', `/api/v1/queues/${queue.id}/items/bulk`, { items }), 201);
    await sweep();
    const started = await jobs();
    expect(started).toHaveLength(2);
    for (const job of started)
      expect(job).toMatchObject({
        pooled: true,
        robot_pool: 'night',
        status: 'queued',
        queue_id: queue.id,
        input: { url: 'https://example.test/data', count: 3 },
      });
    await sweep();
    expect(await jobs()).toHaveLength(2);

    // one ends: the next sweep starts one more
    await expectStatus(api('POST', `/api/v1/process-jobs/${started[0].id}/cancel`), 200);
    await sweep();
    expect(await jobs()).toHaveLength(3);

    // the queue empties: no more jobs, whatever ended
    for (let i = 0; i < 5; i += 1)
      await expectStatus(api('POST', `/api/v1/queues/${queue.id}/items/claim`), 200);
    for (const job of (await jobs()).filter((j: any) => j.status === 'queued'))
      await expectStatus(api('POST', `/api/v1/process-jobs/${job.id}/cancel`), 200);
    await sweep();
    expect((await jobs()).filter((j: any) => j.status === 'queued')).toHaveLength(0);
  });
});
