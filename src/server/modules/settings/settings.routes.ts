import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../http/context.js';
import { settingsCatalog, settingsGroups } from './settings.catalog.js';
import type { SettingsService } from './settings.service.js';

const tags = ['settings'];

export function settingsRoutes(deps: { settings: SettingsService }): FastifyPluginAsyncTypebox {
  const { settings } = deps;
  return async (app) => {
    app.get(
      '/api/v1/settings',
      {
        config: { permission: 'settings:read' },
        schema: {
          tags,
          summary: 'Every settings group; secrets masked',
          response: { 200: Type.Object(settingsCatalog) },
        },
      },
      async (request) => settings.readAllMasked(contextOf(request).orgId),
    );

    // A route per group, so each has its own typed schema in validation and in the OpenAPI document.
    for (const group of settingsGroups) {
      const schema = settingsCatalog[group];
      app.get(
        `/api/v1/settings/${group}`,
        {
          config: { permission: 'settings:read' },
          schema: { tags, summary: `The ${group} settings; secrets masked`, response: { 200: schema } },
        },
        async (request) => settings.readMasked(contextOf(request).orgId, group),
      );
      app.put(
        `/api/v1/settings/${group}`,
        {
          config: { permission: 'settings:update' },
          schema: {
            tags,
            summary: `Change ${group} settings (send only the keys to change; a masked secret keeps its value)`,
            body: Type.Partial(schema, { additionalProperties: false }),
            response: { 200: schema },
          },
        },
        async (request) => settings.update(contextOf(request), group, request.body),
      );
    }
  };
}
