import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import { ScriptSchema } from '../scripts/scripts.schemas.js';
import {
  ConversationDetail,
  ConversationListQuery,
  ConversationSchema,
  GenerateBody,
  GenerateReply,
  ReviewBody,
  ReviewReply,
  RunBody,
  RunReply,
  SaveBody,
  StatusReply,
  TestReply,
} from './assistant.schemas.js';
import type { AssistantService } from './assistant.service.js';

const tags = ['assistant'];
/**
 * What a call to the provider can answer besides the route's own errors: 409 while the
 * organisation has no provider (its settings, not the provider, are at fault), 502/503/504 when
 * the provider fails.
 */
const PROVIDER_ERRORS = ['conflict', 'bad_gateway', 'provider_unavailable', 'gateway_timeout'] as const;

export function assistantRoutes(deps: { assistant: AssistantService }): FastifyPluginAsyncTypebox {
  const { assistant } = deps;
  return async (app) => {
    app.get(
      '/api/v1/assistant/status',
      {
        config: { permission: 'assistant:read' },
        schema: {
          operationId: 'getAssistantStatus',
          tags,
          summary: "Whether the assistant is configured and how this node's last call to the provider went",
          response: { 200: StatusReply },
        },
      },
      async (request) => assistant.status(contextOf(request)),
    );

    app.post(
      '/api/v1/assistant/test',
      {
        config: { permission: 'assistant:execute', errors: [...PROVIDER_ERRORS] },
        schema: {
          operationId: 'testAssistantProvider',
          tags,
          summary: 'Call the configured provider once: its URL, key and model answer, or the reason why not',
          response: { 200: TestReply },
        },
      },
      async (request) => assistant.test(contextOf(request)),
    );

    app.post(
      '/api/v1/assistant/generate',
      {
        config: {
          permission: 'assistant:execute',
          errors: [...PROVIDER_ERRORS, 'unprocessable', 'rate_limited', 'not_found'],
        },
        schema: {
          operationId: 'generateCommand',
          tags,
          summary: 'Turn a request into a proposed command, judged by the safety analyzer',
          description:
            'For an agent (its OS and shells) or an OS and shell; `conversation_id` continues a conversation, ' +
            "`job_id` feeds the end of that job's output back. A malformed model answer is repaired once, then " +
            "502. A refusal is 422. The safety level is the stricter of the analyzer's and the model's",
          body: GenerateBody,
          response: { 200: GenerateReply },
        },
      },
      async (request) => assistant.generate(contextOf(request), request.body),
    );

    app.post(
      '/api/v1/assistant/review',
      {
        config: { permission: 'assistant:execute' },
        schema: {
          operationId: 'reviewCommand',
          tags,
          summary: 'Judge any command with the safety analyzer alone (no model)',
          body: ReviewBody,
          response: { 200: ReviewReply },
        },
      },
      async (request) =>
        assistant.reviewAudited(contextOf(request), request.body.command, request.body.shell),
    );

    app.post(
      '/api/v1/assistant/run',
      {
        config: { permission: 'assistant:execute', errors: ['unprocessable', 'not_found'] },
        schema: {
          operationId: 'runProposal',
          tags,
          summary: 'Run a proposal on one agent (a job) or a target set (a run)',
          description:
            'Takes jobs:execute (agent) or runs:execute (target) as well. With `ai.safety_check` on, a ' +
            '`caution` command needs `confirm: true` (422 otherwise) and a `dangerous` one also the permission ' +
            '`assistant:confirm_dangerous` (403)',
          body: RunBody,
          response: { 200: RunReply },
        },
      },
      async (request) => assistant.run(contextOf(request), request.body),
    );

    app.post(
      '/api/v1/assistant/save',
      {
        config: { permission: 'scripts:create', errors: ['conflict', 'unprocessable', 'not_found'] },
        schema: {
          operationId: 'saveProposal',
          tags,
          summary: 'Save a proposal as a script or saved command, with typed parameters',
          body: SaveBody,
          response: { 201: ScriptSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await assistant.save(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/assistant/conversations',
      {
        config: { permission: 'assistant:read' },
        schema: {
          operationId: 'listConversations',
          tags,
          summary: "The caller's own conversations, most recent first",
          querystring: ConversationListQuery,
          response: { 200: PageOf(ConversationSchema) },
        },
      },
      async (request) => assistant.listConversations(contextOf(request), pageParams(request.query)),
    );

    app.get(
      '/api/v1/assistant/conversations/:id',
      {
        config: { permission: 'assistant:read' },
        schema: {
          operationId: 'getConversation',
          tags,
          summary: "One of the caller's conversations with its messages; another user's is 404",
          params: IdParams,
          response: { 200: ConversationDetail },
        },
      },
      async (request) => assistant.getConversation(contextOf(request), request.params.id),
    );

    app.delete(
      '/api/v1/assistant/conversations/:id',
      {
        config: { permission: 'assistant:execute' },
        schema: {
          operationId: 'deleteConversation',
          tags,
          summary: "Delete one of the caller's conversations (jobs it ran stay)",
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await assistant.removeConversation(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
