import { Alert, Anchor, Badge, Button, Code, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, DONE_HERE } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { ProcessForm } from './ProcessForm';
import {
  useDeleteProcess,
  useProcess,
  useProcessVersions,
  useUpdateProcess,
  type ProcessDetail,
  type ProcessVersion,
} from './queries';

/** What the process runs now: the package version "latest active" (or its pin) resolves to. */
function Resolution({ process }: { process: ProcessDetail }) {
  const current = process.current_package;
  if (!current)
    return (
      <Alert color="orange" title="Runs nothing now" data-testid="resolution">
        {process.resolve_error}
      </Alert>
    );
  return (
    <Alert color={process.resolve_error ? 'orange' : 'blue'} title="Runs now" data-testid="resolution">
      {current.name} {current.version}
      {current.active ? '' : ' (inactive)'} — entry point {process.entry_point}
      {process.current_entry_point &&
        ` (${process.current_entry_point.language}, ${process.current_entry_point.path})`}
      {process.resolve_error && <Text size="sm">{process.resolve_error}</Text>}
    </Alert>
  );
}

function retries(version: ProcessVersion): string {
  if (version.max_attempts <= 1) return 'none';
  return `${version.max_attempts - 1} after ${version.retry_delay_seconds}s`;
}

/** The process's versions, newest first; one opened shows its definition as it was. */
function Versions({ process }: { process: ProcessDetail }) {
  const pages = useCursorPages(process.id);
  const versions = useProcessVersions(process.id, pages.cursor);
  const [opened, setOpened] = useState<ProcessVersion | null>(null);
  const items = versions.data?.items ?? [];
  return (
    <Stack>
      <Title order={4}>Versions</Title>
      {versions.error && <Alert color="red">{versions.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Version</Table.Th>
            <Table.Th>Package</Table.Th>
            <Table.Th>Entry point</Table.Th>
            <Table.Th>Timeout</Table.Th>
            <Table.Th>Retries</Table.Th>
            <Table.Th>Saved</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((version) => (
            <Table.Tr key={version.version} data-testid="version-row">
              <Table.Td>
                v{version.version}
                {version.version === process.version && ' (current)'}
              </Table.Td>
              <Table.Td>
                {version.package_name} {version.package_version ?? 'latest active'}
              </Table.Td>
              <Table.Td>{version.entry_point}</Table.Td>
              <Table.Td>{version.timeout_seconds}s</Table.Td>
              <Table.Td>{retries(version)}</Table.Td>
              <Table.Td>{new Date(version.created_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Button size="xs" variant="default" onClick={() => setOpened(version)}>
                  Show
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager pages={pages} nextCursor={versions.data?.next_cursor} labels={['Newer', 'Older']} />
      {opened && (
        <Stack gap={4}>
          <Text size="sm">Version {opened.version} as it was</Text>
          <Code block data-testid="version-definition">
            {JSON.stringify(opened, null, 2)}
          </Code>
        </Stack>
      )}
    </Stack>
  );
}

function DeleteButton({ process }: { process: ProcessDetail }) {
  const navigate = useNavigate();
  const remove = useDeleteProcess();
  const confirm = () =>
    confirmDestructive({
      title: `Delete ${process.name}?`,
      body: 'The process and all its versions go; the jobs it ran stay.',
      confirm: 'Delete',
      run: async () => {
        await remove.mutateAsync(process.id);
        void navigate('/processes', { state: DONE_HERE });
      },
    });
  return (
    <Button color="red" variant="light" onClick={confirm} loading={remove.isPending}>
      Delete
    </Button>
  );
}

/** `/processes/:id`: what it runs now, its definition (editable by whoever may), its versions. */
export function ProcessDetailPage() {
  const { id = '' } = useParams();
  const process = useProcess(id);
  const update = useUpdateProcess(id);
  const canUpdate = usePermission('processes:update');
  const canDelete = usePermission('processes:delete');

  const back = (
    <Anchor component={Link} to="/processes" size="sm">
      ← Processes
    </Anchor>
  );
  if (process.isPending) return <Loader />;
  if (process.error)
    return (
      <Stack>
        {back}
        <Alert color="red">{process.error.message}</Alert>
      </Stack>
    );
  const data = process.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <Badge variant="light">v{data.version}</Badge>
        </Group>
        {canDelete && <DeleteButton process={data} />}
      </Group>
      <Resolution process={data} />
      <ProcessForm
        key={`${data.id}-${data.updated_at}`}
        process={data}
        readOnly={!canUpdate}
        pending={update.isPending}
        error={update.error}
        submitLabel="Save"
        onSubmit={(body) =>
          update.mutate(body, {
            onSuccess: (saved) =>
              notifications.show({ color: 'green', message: `${saved.name} saved (v${saved.version})` }),
          })
        }
      />
      <Versions key={`versions-${data.version}`} process={data} />
    </Stack>
  );
}
