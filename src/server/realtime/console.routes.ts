import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { contextOf } from '../http/context.js';
import { AppError, assertNever } from '../lib/errors.js';
import type { JobsService } from '../modules/execution/jobs.service.js';
import { corkForThisTurn } from './corked.js';
import type { EventBus, FleetEvent } from './events.js';

type ConsoleCommand = { type: 'subscribe'; job_id: string } | { type: 'unsubscribe'; job_id: string };

function parseCommand(raw: string): ConsoleCommand | null {
  try {
    const value = JSON.parse(raw) as Partial<ConsoleCommand>;
    if ((value.type === 'subscribe' || value.type === 'unsubscribe') && typeof value.job_id === 'string')
      return value as ConsoleCommand;
  } catch {
    // not JSON: answered below
  }
  return null;
}

/** What a console sees of an event: nothing of internal events, output only for jobs it follows. */
function visible(event: FleetEvent, orgId: string, followed: ReadonlySet<string>): boolean {
  if (event.org_id !== orgId) return false;
  switch (event.type) {
    case 'agent.status':
    case 'agent.deleted':
    case 'job.state':
    case 'run.progress':
    case 'service.changed':
    case 'deployment.state':
    case 'deployment.target':
    case 'deployment.step':
      return true;
    case 'job.output':
      return followed.has(event.job_id);
    case 'agent.jobs_available':
    case 'agent.token_replaced':
    case 'principals.changed':
    case 'job.cancel':
      return false;
    default:
      return assertNever(event);
  }
}

/**
 * Live stream for consoles: agent online/offline, job states, run progress, and output lines of
 * the jobs a client subscribes to, only ever of the caller's organisation.
 */
export function consoleRoutes(deps: { bus: EventBus; jobs: JobsService }): FastifyPluginAsyncTypebox {
  const { bus, jobs } = deps;
  return async (app) => {
    app.get(
      '/api/v1/events/ws',
      {
        websocket: true,
        config: { permission: 'jobs:read' },
        schema: {
          tags: ['events'],
          summary:
            'Live events (WebSocket). Send {"type":"subscribe","job_id":…} to follow a job’s output; token as bearer or ?access_token=',
          querystring: Type.Object({ access_token: Type.Optional(Type.String()) }),
        },
      },
      (socket: WebSocket, request) => {
        const ctx = contextOf(request);
        const followed = new Set<string>();
        const unsubscribe = bus.subscribe((event) => {
          if (!visible(event, ctx.orgId, followed) || socket.readyState !== socket.OPEN) return;
          // the WebSocket writes to the request's own socket once upgraded
          corkForThisTurn(request.raw.socket);
          socket.send(JSON.stringify(event));
        });
        socket.on('close', unsubscribe);
        socket.on('message', (data: Buffer) => {
          const command = parseCommand(data.toString('utf8'));
          if (!command) {
            socket.send(
              JSON.stringify({
                type: 'error',
                code: 'bad_request',
                message: 'send {"type":"subscribe","job_id":"…"}',
              }),
            );
            return;
          }
          if (command.type === 'unsubscribe') {
            followed.delete(command.job_id);
            return;
          }
          jobs.get(ctx.orgId, command.job_id).then(
            () => {
              followed.add(command.job_id);
              socket.send(JSON.stringify({ type: 'subscribed', job_id: command.job_id }));
            },
            (error: unknown) => {
              const code = error instanceof AppError ? error.code : 'internal';
              socket.send(
                JSON.stringify({
                  type: 'error',
                  code,
                  message: error instanceof Error ? error.message : 'failed',
                  job_id: command.job_id,
                }),
              );
            },
          );
        });
      },
    );
  };
}
