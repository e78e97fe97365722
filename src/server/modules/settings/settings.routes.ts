import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TObject } from 'typebox';
import { contextOf } from '../../http/context.js';
import { settingsCatalog, settingsGroups } from './settings.catalog.js';
import type { SettingsService } from './settings.service.js';

const tags = ['settings'];

/**
 * A PUT body sends only the keys to change. The validator fills in schema defaults, so the
 * catalogue's defaults are taken off the body schema: otherwise every PUT would reset the keys
 * it did not send (and wipe a stored secret).
 */
function withoutDefaults<T extends TObject>(schema: T): T {
  const copy = (value: object) => Object.defineProperties({}, Object.getOwnPropertyDescriptors(value));
  const properties = Object.fromEntries(
    Object.entries(schema.properties).map(([key, property]) => {
      const bare = copy(property) as { default?: unknown };
      delete bare.default;
      return [key, bare];
    }),
  );
  return Object.assign(copy(schema), { properties }) as T;
}

export function settingsRoutes(deps: { settings: SettingsService }): FastifyPluginAsyncTypebox {
  const { settings } = deps;
  return async (app) => {
    app.get(
      '/api/v1/settings',
      {
        config: { permission: 'settings:read' },
        schema: {
          operationId: 'getSettings',
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
      const title = group.charAt(0).toUpperCase() + group.slice(1);
      app.get(
        `/api/v1/settings/${group}`,
        {
          config: { permission: 'settings:read' },
          schema: {
            operationId: `get${title}Settings`,
            tags,
            summary: `The ${group} settings; secrets masked`,
            response: { 200: schema },
          },
        },
        async (request) => settings.readMasked(contextOf(request).orgId, group),
      );
      app.put(
        `/api/v1/settings/${group}`,
        {
          config: { permission: 'settings:update', errors: ['unprocessable'] },
          schema: {
            operationId: `update${title}Settings`,
            tags,
            summary: `Change ${group} settings (send only the keys to change; a masked secret keeps its value)`,
            body: withoutDefaults(Type.Partial(schema, { additionalProperties: false })),
            response: { 200: schema },
          },
        },
        async (request) => settings.update(contextOf(request), group, request.body),
      );
    }
  };
}
