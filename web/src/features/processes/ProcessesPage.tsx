import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedCallback, useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { ProcessForm } from './ProcessForm';
import { useCreateProcess, useProcesses, type ProcessFilters } from './queries';

/** The text filter lives in the URL: a filtered view can be linked and survives reload. */
function useProcessFilters(): [ProcessFilters, (q: string) => void] {
  const [params, setParams] = useSearchParams();
  const filters: ProcessFilters = { q: params.get('q') || undefined };
  const setText = (q: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (q) next.set('q', q);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  return [filters, setText];
}

/** States: closed → form → created (the new process's page) ; a refusal stays on the form. */
function CreateProcessModal(props: { opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const create = useCreateProcess();
  const close = () => {
    create.reset();
    props.onClose();
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Create a process" size="xl">
      <ProcessForm
        readOnly={false}
        pending={create.isPending}
        error={create.error}
        submitLabel="Create"
        onSubmit={(body) =>
          create.mutate(body, { onSuccess: (created) => void navigate(`/processes/${created.id}`) })
        }
      />
    </Modal>
  );
}

/** Processes: packages' entry points published for robots to run, newest first. */
export function ProcessesPage() {
  const [filters, setText] = useProcessFilters();
  const [text, setTextNow] = useState(filters.q ?? '');
  const searchLater = useDebouncedCallback((q: string) => setText(q.trim()), 300);
  const pages = useCursorPages(filters.q ?? '');
  const processes = useProcesses(filters, pages.cursor);
  const canCreate = usePermission('processes:create');
  const [creating, createModal] = useDisclosure();
  const items = processes.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Processes</Title>
        {canCreate && <Button onClick={createModal.open}>Create process</Button>}
      </Group>
      <TextInput
        aria-label="Search"
        placeholder="Search name or description"
        value={text}
        onChange={(e) => {
          setTextNow(e.currentTarget.value);
          searchLater(e.currentTarget.value);
        }}
        w={280}
      />
      {processes.error && <Alert color="red">{processes.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Package</Table.Th>
            <Table.Th>Entry point</Table.Th>
            <Table.Th>Robots</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((process) => (
            <Table.Tr key={process.id} data-testid="process-row">
              <Table.Td>
                <Anchor component={Link} to={`/processes/${process.id}`}>
                  {process.name}
                </Anchor>
                {process.description && (
                  <Text size="xs" c="dimmed" lineClamp={1}>
                    {process.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                {process.package_name}{' '}
                <Badge variant="light" color={process.package_version ? 'gray' : 'teal'}>
                  {process.package_version ?? 'latest active'}
                </Badge>
              </Table.Td>
              <Table.Td>{process.entry_point}</Table.Td>
              <Table.Td>{process.robot_pool ? `pool ${process.robot_pool}` : 'any robot'}</Table.Td>
              <Table.Td>v{process.version}</Table.Td>
              <Table.Td>{new Date(process.updated_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {processes.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {filters.q
            ? `Nothing matches “${filters.q}”.`
            : 'No process yet. Publish an entry point of a package for robots to run.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={processes.data?.next_cursor} />
      <CreateProcessModal opened={creating} onClose={createModal.close} />
    </Stack>
  );
}
