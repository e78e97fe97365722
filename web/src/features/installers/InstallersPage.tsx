import { formatBytes } from '../../shell/bytes';
import {
  Alert,
  Button,
  Code,
  Group,
  NumberInput,
  PasswordInput,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  Text,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { CopyValueButton } from '../../shell/CopyValueButton';
import { useGroups } from '../agents/queries';
import { usePermission } from '../auth/session';
import {
  useInstallerCommand,
  useInstallerConfig,
  useInstallerDownload,
  type InstallerBody,
  type InstallerConfig,
} from './queries';

type Os = InstallerBody['os'];
type Arch = InstallerBody['arch'];

const systems: { value: Os; label: string; run: string }[] = [
  { value: 'linux', label: 'Linux', run: 'Paste it into a shell on the machine; it asks for sudo.' },
  { value: 'darwin', label: 'macOS', run: 'Paste it into Terminal on the Mac; it asks for sudo.' },
  { value: 'windows', label: 'Windows', run: 'Paste it into a PowerShell run as administrator.' },
];

/** Where the chosen platform's installer puts things, and whether this server can serve it. */
function PlatformFacts(props: { config: InstallerConfig; os: Os; arch: Arch }) {
  const platform = props.config.platforms.find((p) => p.os === props.os && p.arch === props.arch);
  const where = props.config.locations[props.os];
  return (
    <Stack gap={4}>
      {platform?.build ? (
        <Text size="sm" c="dimmed">
          Agent {platform.build.version} ({platform.build.os}-{platform.build.arch},{' '}
          {formatBytes(platform.build.size)}) → <Code>{where.binary}</Code>, state in{' '}
          <Code>{where.state}</Code>, started by{' '}
          {where.service.startsWith('/') ? <Code>{where.service}</Code> : where.service}.
        </Text>
      ) : (
        <Alert color="yellow" data-testid="no-build">
          This server has no agent build for {props.os} {props.arch}: <Code>npm run build:agents</Code> makes
          them.
        </Alert>
      )}
      {platform?.note && <Alert color="blue">{platform.note}.</Alert>}
    </Stack>
  );
}

/**
 * Install agents: pick a platform and a token (new, with its options, or pasted), then copy the
 * one-line command or download the script or the offline zip. States: options → command shown
 * (holding a new token, this once); changing an option forgets the command.
 */
export function InstallersPage() {
  const config = useInstallerConfig();
  const groups = useGroups();
  const command = useInstallerCommand();
  const download = useInstallerDownload();
  const canCreate = usePermission('enrollment:create');
  const [os, setOs] = useState<Os>('linux');
  const [arch, setArch] = useState<Arch>('x64');
  const [tokenMode, setTokenMode] = useState<'new' | 'existing'>('new');
  const [tags, setTags] = useState<string[]>([]);
  const [groupId, setGroupId] = useState<string | null>(null);
  const [hours, setHours] = useState<number | string>('');
  const [uses, setUses] = useState<number | string>('');
  const [existing, setExisting] = useState('');

  const defaults = config.data?.defaults.token;
  const changed =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      command.reset();
      download.reset();
    };
  const body = (): InstallerBody => {
    if (tokenMode === 'existing') return { os, arch, enrollment_token: existing.trim() };
    return {
      os,
      arch,
      token: {
        tags: tags.map((tag) => tag.toLowerCase()),
        ...(groupId ? { group_id: groupId } : {}),
        ...(typeof hours === 'number' ? { expires_in_hours: hours } : {}),
        ...(typeof uses === 'number' ? { max_uses: uses } : {}),
      },
    };
  };
  const platform = config.data?.platforms.find((p) => p.os === os && p.arch === arch);
  const ready = canCreate && Boolean(platform?.available) && (tokenMode === 'new' || existing.trim() !== '');
  const shown = command.data;
  const error = command.error ?? download.error ?? config.error;

  return (
    <Stack maw={860}>
      <Title order={2}>Install agents</Title>
      <Text size="sm" c="dimmed">
        One command per machine: it downloads the agent from{' '}
        <Code>{config.data?.server_url ?? window.location.origin}</Code>, checks its SHA-256, installs it as a
        service that starts at boot and restarts on failure, enrolls it and starts it. Run it again to
        upgrade.
      </Text>
      {config.data && (
        <>
          <Group>
            <SegmentedControl
              aria-label="Operating system"
              data={systems.map(({ value, label }) => ({ value, label }))}
              value={os}
              onChange={changed((value: string) => setOs(value as Os))}
            />
            <SegmentedControl
              aria-label="Architecture"
              data={['x64', 'arm64']}
              value={arch}
              onChange={changed((value: string) => setArch(value as Arch))}
            />
          </Group>
          <PlatformFacts config={config.data} os={os} arch={arch} />
          <Group>
            <SegmentedControl
              aria-label="Token source"
              data={[
                { value: 'new', label: 'New token' },
                { value: 'existing', label: 'Existing token' },
              ]}
              value={tokenMode}
              onChange={changed((value: string) => setTokenMode(value as 'new' | 'existing'))}
            />
          </Group>
          {tokenMode === 'new' ? (
            <Group grow align="flex-start">
              <TagsInput
                label="Tags"
                description="Given to every agent it enrolls"
                value={tags}
                onChange={changed(setTags)}
              />
              <Select
                label="Group"
                placeholder="No group"
                clearable
                data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
                value={groupId}
                onChange={changed(setGroupId)}
              />
              <NumberInput
                label="Expires in (hours)"
                placeholder={String(defaults?.expires_in_hours ?? '')}
                min={1}
                max={8760}
                allowDecimal={false}
                value={hours}
                onChange={changed(setHours)}
              />
              <NumberInput
                label="Uses"
                description="Machines it may enroll"
                placeholder={String(defaults?.max_uses ?? '')}
                min={1}
                max={1_000_000}
                allowDecimal={false}
                value={uses}
                onChange={changed(setUses)}
              />
            </Group>
          ) : (
            <PasswordInput
              label="Enrollment token"
              description="An active token of this organisation (fpe_…)"
              value={existing}
              onChange={(event) => changed(setExisting)(event.currentTarget.value)}
            />
          )}
          <Group>
            <Button onClick={() => command.mutate(body())} loading={command.isPending} disabled={!ready}>
              Show command
            </Button>
            <Button
              variant="default"
              onClick={() => download.mutate({ ...body(), format: 'script' })}
              loading={download.isPending && download.variables.format === 'script'}
              disabled={!ready}
            >
              Download script
            </Button>
            <Button
              variant="default"
              onClick={() => download.mutate({ ...body(), format: 'zip' })}
              loading={download.isPending && download.variables.format === 'zip'}
              disabled={!ready}
            >
              Download offline zip
            </Button>
          </Group>
        </>
      )}
      {error && <Alert color="red">{error.message}</Alert>}
      {shown && (
        <Stack gap={4}>
          <Code
            block
            data-testid="install-command"
            style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}
          >
            {shown.command}
          </Code>
          <Group justify="space-between" wrap="nowrap">
            <Text size="sm" c="dimmed">
              {systems.find((system) => system.value === shown.os)?.run}{' '}
              {shown.enrollment_token && 'It holds a new enrollment token, shown this once.'}
            </Text>
            <CopyValueButton value={shown.command} size="xs" />
          </Group>
        </Stack>
      )}
    </Stack>
  );
}
