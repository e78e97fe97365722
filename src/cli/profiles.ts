import type { Static } from 'typebox';
import type { ProfileSchema } from '../server/modules/profiles/profiles.schemas.js';
import { defineCommand, oneArgument, type ClientCommand } from './command.js';
import type { Run } from './follow.js';
import { followAndReport, runLimits } from './run.js';
import { TARGET_SYNOPSIS, findNamed, resolveTarget, targetOptions } from './targets.js';

type Profile = Static<typeof ProfileSchema>;

export const profilesCommands: ClientCommand[] = [
  defineCommand({
    words: ['profiles', 'apply'],
    synopsis: `NAME|ID ${TARGET_SYNOPSIS} [--deadline DURATION] [--json]`,
    summary: "apply a deployment profile to agents and wait; prints each agent's outcome",
    options: { ...targetOptions, deadline: { type: 'string' }, json: { type: 'boolean' } },
    async run({ values, positionals }, ctx) {
      const client = ctx.client();
      const profile = await findNamed<Profile>(client, {
        route: '/api/v1/profiles',
        noun: 'profile',
        idOrName: oneArgument(positionals, 'a profile name or id'),
        search: (q) => ({ q }),
      });
      const { target } = await resolveTarget(client, values);
      return followAndReport(client, ctx.terminal, { json: values.json === true, print: false }, () =>
        client.request<Run>('POST', `/api/v1/profiles/${profile.id}/apply`, {
          body: { target, ...runLimits(values) },
        }),
      );
    },
  }),
];
