import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JobEventsRequest, JobEventsResponse, JobSpec, type EventAck } from '../../../protocol/agent.js';
import { metaOf, robotOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { AssetsService } from '../assets/assets.service.js';
import { sendZip, ZipResponse } from '../packages/packages.routes.js';
import type { PackagesService } from '../packages/packages.service.js';
import type { JobsService } from '../execution/jobs.service.js';
import type { QueueConsumer, QueueConsumers } from '../queues/consumers.service.js';
import type { QueueItemsService } from '../queues/items.service.js';
import {
  ItemCompleteBody,
  ItemFailBody,
  ItemFailResult,
  ItemProgressBody,
  QueueItemSchema,
} from '../queues/queues.schemas.js';
import type { RobotIdentity } from '../robots/robots.service.js';
import type { FastifyRequest } from 'fastify';

const tags = ['runner channel'];

const isSha256 = (text: string) => /^[0-9a-f]{64}$/.test(text);

/**
 * The runner API: what a robot that is not our agent (a Python or .NET runner on a machine we do
 * not manage) calls with its robot token. Jobs travel as the agent protocol's job specs and
 * events; queue items and assets as the same services serve people, with the robot as the actor.
 */
export function runnerRoutes(deps: {
  jobs: JobsService;
  consumers: QueueConsumers;
  items: QueueItemsService;
  assets: AssetsService;
  packages: PackagesService;
}): FastifyPluginAsyncTypebox {
  const { jobs, consumers, items, assets, packages } = deps;

  /** The consumer of an item the robot took itself: another robot's (or a person's) is 403. */
  async function holderOf(request: FastifyRequest, itemId: string): Promise<QueueConsumer> {
    const consumer = consumerOf(request);
    const item = await items.get(consumer.scope.orgId, itemId);
    if (item.robot_id !== consumer.robotId)
      throw new AppError('forbidden', 'this queue item was taken by someone else');
    return consumer;
  }

  /** Agent robots take their jobs through their agent; only runners use these routes. */
  function runnerOf(request: FastifyRequest): RobotIdentity {
    const robot = robotOf(request);
    if (robot.kind !== 'runner')
      throw new AppError('forbidden', 'this robot lives on an agent: its agent runs its jobs');
    return robot;
  }

  function consumerOf(request: FastifyRequest): QueueConsumer {
    const robot = robotOf(request);
    return {
      scope: {
        orgId: robot.org_id,
        actor: { type: 'robot', id: robot.id, label: robot.name },
        meta: metaOf(request),
      },
      robotId: robot.id,
    };
  }

  return async (app) => {
    app.post(
      '/api/v1/runner/jobs/claim',
      {
        config: { permission: 'robot', errors: ['forbidden'] },
        schema: {
          operationId: 'claimRunnerJob',
          tags,
          summary: "The robot's next process job (its own, or its pools'), leased to it; 204 when none waits",
          description:
            "Report it with `POST /api/v1/runner/jobs/{id}/events` (ack, output, result as agents do) and keep its lease with the robot's heartbeat. The spec carries the declared assets' values.",
          response: { 200: Type.Object({ job: JobSpec }), 204: NoContent },
        },
      },
      async (request, reply) => {
        const robot = runnerOf(request);
        const job = await jobs.claimForRunner({ ...robot, agent_id: null }, metaOf(request));
        if (!job) return reply.status(204).send();
        return { job };
      },
    );

    app.get(
      '/api/v1/runner/packages/:hash',
      {
        config: { permission: 'robot' },
        schema: {
          operationId: 'downloadRunnerPackage',
          tags,
          summary:
            "A package's zip by its SHA-256 (a job spec's package_hash), for a robot of an organisation that has it",
          // any text: what is not a package's hash is no package of the robot's either (404)
          params: Type.Object({ hash: Type.String({ minLength: 1, maxLength: 100 }) }),
          response: { 200: ZipResponse },
        },
      },
      async (request, reply) => {
        const robot = robotOf(request);
        const { hash } = request.params;
        if (!isSha256(hash)) throw notFound('package');
        const { stream, size } = await packages.openBlob(robot.org_id, hash);
        return sendZip(reply, { hash, size, fileName: `${hash}.zip` }, stream);
      },
    );

    app.post(
      '/api/v1/runner/jobs/:id/events',
      {
        config: { permission: 'robot', errors: ['forbidden'] },
        schema: {
          operationId: 'reportRunnerJobEvents',
          tags,
          summary:
            "Acknowledgement, output and result of one of the robot's jobs, each answered with its outcome",
          description: 'A result may carry `output`: the JSON result of the process.',
          params: IdParams,
          body: JobEventsRequest,
          response: { 200: JobEventsResponse },
        },
      },
      async (request) => {
        const robot = runnerOf(request);
        if (request.body.events.some((event) => event.job_id !== request.params.id))
          throw new AppError('bad_request', 'every event must be about the job in the path');
        const acks: EventAck[] = [];
        for (const event of request.body.events) {
          const verdict = await jobs.applyRunnerEvent(robot.id, event, metaOf(request));
          acks.push({
            job_id: event.job_id,
            attempt: event.attempt,
            event: event.type,
            ...(event.type === 'output' ? { seq: event.seq } : {}),
            ...verdict,
          });
        }
        return { acks };
      },
    );

    app.post(
      '/api/v1/runner/queues/:id/items/claim',
      {
        config: { permission: 'robot', errors: ['conflict'] },
        schema: {
          operationId: 'claimRunnerQueueItem',
          tags,
          summary: "The queue's next item for the robot; 204 when none waits",
          params: IdParams,
          response: { 200: QueueItemSchema, 204: NoContent },
        },
      },
      async (request, reply) => {
        const item = await consumers.claimNext(consumerOf(request), request.params.id);
        return item ?? reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/runner/queue-items/:id/complete',
      {
        config: { permission: 'robot', errors: ['conflict', 'forbidden'] },
        schema: {
          operationId: 'completeRunnerQueueItem',
          tags,
          summary: 'Mark an item the robot holds successful, with its output',
          params: IdParams,
          body: ItemCompleteBody,
          response: { 200: QueueItemSchema },
        },
      },
      async (request) =>
        consumers.complete(
          await holderOf(request, request.params.id),
          request.params.id,
          request.body.output ?? null,
        ),
    );

    app.post(
      '/api/v1/runner/queue-items/:id/fail',
      {
        config: { permission: 'robot', errors: ['conflict', 'forbidden'] },
        schema: {
          operationId: 'failRunnerQueueItem',
          tags,
          summary:
            'Fail an item the robot holds: a business exception ends it, an application one retries it',
          params: IdParams,
          body: ItemFailBody,
          response: { 200: ItemFailResult },
        },
      },
      async (request) =>
        consumers.fail(await holderOf(request, request.params.id), request.params.id, request.body.error),
    );

    app.post(
      '/api/v1/runner/queue-items/:id/progress',
      {
        config: { permission: 'robot', errors: ['conflict', 'forbidden'] },
        schema: {
          operationId: 'reportRunnerQueueItemProgress',
          tags,
          summary: 'Say how far the robot got with an item it holds',
          params: IdParams,
          body: ItemProgressBody,
          response: { 200: QueueItemSchema },
        },
      },
      async (request) =>
        consumers.progress(
          await holderOf(request, request.params.id),
          request.params.id,
          request.body.progress,
        ),
    );

    app.get(
      '/api/v1/runner/assets/:name',
      {
        config: { permission: 'robot' },
        schema: {
          operationId: 'readRunnerAsset',
          tags,
          summary:
            "An asset's value for the robot (its own value, else the global one); every read is audited",
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
          response: { 200: Type.Object({ name: Type.String(), type: Type.String(), value: Type.Unknown() }) },
        },
      },
      async (request) => {
        const robot = robotOf(request);
        const { name } = request.params;
        const declared = (await jobs.liveRunsOfRobot(robot.id)).some((run) => run.assets.includes(name));
        const opened = await assets.openForRobot(robot.org_id, robot.id, name, {
          actor: { type: 'robot', id: robot.id, label: robot.name },
          meta: metaOf(request),
          declared,
        });
        return { name: request.params.name, ...opened };
      },
    );
  };
}
