import type { Static } from 'typebox';
import type { InstallerCommand } from '../server/modules/installers/installers.schemas.js';
import { choiceFlag, defineCommand, integerFlag, noArguments, type ClientCommand } from './command.js';
import { findGroupId } from './targets.js';

type InstallCommand = Static<typeof InstallerCommand>;

export const enrollCommands: ClientCommand[] = [
  defineCommand({
    words: ['enroll'],
    synopsis:
      '[--os linux|darwin|windows] [--arch x64|arm64] [--tag T]... [--group NAME|ID] ' +
      '[--expires-in-hours N] [--uses N] [--token ENROLLMENT_TOKEN] [--json]',
    summary: 'print the one-line command that installs and enrolls an agent on a new machine',
    options: {
      os: { type: 'string' },
      arch: { type: 'string' },
      tag: { type: 'string', multiple: true },
      group: { type: 'string' },
      'expires-in-hours': { type: 'string' },
      uses: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run({ values, positionals }, ctx) {
      noArguments(positionals);
      const os = choiceFlag(values.os, 'os', ['linux', 'darwin', 'windows'] as const) ?? 'linux';
      const arch = choiceFlag(values.arch, 'arch', ['x64', 'arm64'] as const) ?? 'x64';
      const expiresInHours = integerFlag(values['expires-in-hours'], 'expires-in-hours');
      const uses = integerFlag(values.uses, 'uses');
      const client = ctx.client();
      // an existing token is used as it is; otherwise the server makes one with these options
      const enrollment =
        values.token !== undefined
          ? { enrollment_token: values.token }
          : {
              token: {
                ...(values.tag?.length ? { tags: values.tag } : {}),
                ...(values.group === undefined ? {} : { group_id: await findGroupId(client, values.group) }),
                ...(expiresInHours === undefined ? {} : { expires_in_hours: expiresInHours }),
                ...(uses === undefined ? {} : { max_uses: uses }),
              },
            };
      const created = await client.request<InstallCommand>('POST', '/api/v1/installers', {
        body: { os, arch, format: 'command', ...enrollment },
      });
      if (values.json) ctx.terminal.json(created);
      else ctx.terminal.out(created.command);
      return 0;
    },
  }),
];
