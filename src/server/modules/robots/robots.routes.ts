import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { contextOf, metaOf, robotOf } from '../../http/context.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  MachineKeyIssued,
  RobotCreateBody,
  RobotCreated,
  RobotListQuery,
  RobotSchema,
  RobotUpdateBody,
  RunnerHeartbeatAnswer,
  RunnerHeartbeatBody,
  RunnerRegisterBody,
  RunnerRegistered,
} from './robots.schemas.js';
import type { RobotsService } from './robots.service.js';

const tags = ['robots'];
const runnerTags = ['runner channel'];

export function robotsRoutes(deps: {
  robots: RobotsService;
  limiter: RateLimiter;
}): FastifyPluginAsyncTypebox {
  const { robots, limiter } = deps;

  /** Counted before validation, as sign-in is: per IP and per robot name, so keys cannot be guessed fast. */
  const rateLimited = async (request: FastifyRequest) => {
    const name = (request.body as { name?: unknown } | undefined)?.name;
    const route = request.routeOptions.url ?? '';
    limiter.hit([
      `${route}|ip|${request.ip}`,
      ...(typeof name === 'string' ? [`${route}|robot|${name}`] : []),
    ]);
  };

  return async (app) => {
    app.get(
      '/api/v1/robots',
      {
        config: { permission: 'robots:read' },
        schema: {
          operationId: 'listRobots',
          tags,
          summary: 'Robots, newest first; filter by name text, status, kind, pool or agent',
          querystring: RobotListQuery,
          response: { 200: PageOf(RobotSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return robots.list(
          contextOf(request).orgId,
          { text: q.q, status: q.status, kind: q.kind, pool: q.pool, agentId: q.agent_id },
          pageParams(q),
        );
      },
    );

    app.post(
      '/api/v1/robots',
      {
        config: { permission: 'robots:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createRobot',
          tags,
          summary: "Add a robot; a runner's one-time machine key is shown once",
          description:
            'Names are unique in the organisation; an agent robot names a live agent of it (422 otherwise)',
          body: RobotCreateBody,
          response: { 201: RobotCreated },
        },
      },
      async (request, reply) => reply.status(201).send(await robots.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/robots/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          operationId: 'getRobot',
          tags,
          summary: 'Get a robot',
          params: IdParams,
          response: { 200: RobotSchema },
        },
      },
      async (request) => robots.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/robots/:id',
      {
        config: { permission: 'robots:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateRobot',
          tags,
          summary: "Change a robot's name, description, pools, credential or (agent robots) agent",
          params: IdParams,
          body: RobotUpdateBody,
          response: { 200: RobotSchema },
        },
      },
      async (request) => robots.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/robots/:id',
      {
        config: { permission: 'robots:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteRobot',
          tags,
          summary: 'Delete a robot',
          description: 'A robot running a job (busy) is 409',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await robots.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/robots/:id/machine-key',
      {
        config: { permission: 'robots:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'issueRobotMachineKey',
          tags,
          summary: 'A new one-time machine key for a runner robot, shown once',
          params: IdParams,
          response: { 200: MachineKeyIssued },
        },
      },
      async (request) => robots.issueMachineKey(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/robots/:id/revoke-token',
      {
        config: { permission: 'robots:update' },
        schema: {
          operationId: 'revokeRobotToken',
          tags,
          summary: "Revoke a runner's robot token: it stops working at once",
          params: IdParams,
          response: { 200: RobotSchema },
        },
      },
      async (request) => robots.revokeToken(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/runner/register',
      {
        config: { permission: 'public', errors: ['unauthorized', 'rate_limited'] },
        preValidation: rateLimited,
        schema: {
          operationId: 'registerRunner',
          tags: runnerTags,
          summary: 'A runner trades its robot name and one-time machine key for its robot token, shown once',
          body: RunnerRegisterBody,
          response: { 200: RunnerRegistered },
        },
      },
      async (request) => robots.register(request.body, metaOf(request)),
    );

    app.post(
      '/api/v1/runner/heartbeat',
      {
        config: { permission: 'robot' },
        schema: {
          operationId: 'runnerHeartbeat',
          tags: runnerTags,
          summary: 'A runner is alive (busy, if it says so); silent for three intervals, it is offline',
          body: RunnerHeartbeatBody,
          response: { 200: RunnerHeartbeatAnswer },
        },
      },
      async (request) => robots.heartbeat(robotOf(request), request.body.status),
    );

    app.get(
      '/api/v1/runner/me',
      {
        config: { permission: 'robot' },
        schema: {
          operationId: 'getRunnerSelf',
          tags: runnerTags,
          summary: 'The robot the token belongs to',
          response: { 200: RobotSchema },
        },
      },
      async (request) => {
        const robot = robotOf(request);
        return robots.get(robot.org_id, robot.id);
      },
    );
  };
}
