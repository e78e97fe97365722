import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, mapPage, pageParams } from '../../lib/pagination.js';
import type { AuditEvent } from './audit.repo.js';
import { AuditEventSchema, AuditQuery } from './audit.schemas.js';
import type { AuditLog } from './audit.service.js';

const tags = ['audit'];

function eventView(event: AuditEvent) {
  const { org_id: _org, ...view } = event;
  return view;
}

/** Read-only by design: no route changes or deletes an audit event. */
export function auditRoutes(deps: { audit: AuditLog }): FastifyPluginAsyncTypebox {
  const { audit } = deps;
  return async (app) => {
    app.get(
      '/api/v1/audit',
      {
        config: { permission: 'audit:read' },
        schema: {
          operationId: 'listAuditEvents',
          tags,
          summary: 'Search the audit log',
          querystring: AuditQuery,
          response: { 200: PageOf(AuditEventSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = await audit.list(
          contextOf(request).orgId,
          {
            from: q.from,
            to: q.to,
            actorId: q.actor_id,
            actorType: q.actor_type,
            action: q.action,
            entityType: q.entity_type,
            entityId: q.entity_id,
            requestId: q.request_id,
            text: q.q,
          },
          pageParams(q),
        );
        return mapPage(page, eventView);
      },
    );

    app.get(
      '/api/v1/audit/:id',
      {
        config: { permission: 'audit:read' },
        schema: {
          operationId: 'getAuditEvent',
          tags,
          summary: 'Get one audit event',
          params: IdParams,
          response: { 200: AuditEventSchema },
        },
      },
      async (request) => eventView(await audit.get(contextOf(request).orgId, request.params.id)),
    );
  };
}
