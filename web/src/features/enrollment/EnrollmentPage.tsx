import { Alert, Badge, Button, Code, Group, Modal, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link } from 'react-router';
import { usePermission } from '../auth/session';
import { useGroups } from '../agents/queries';
import { CreateTokenModal } from './CreateTokenModal';
import { EnrollCommands } from './EnrollCommands';
import { useEnrollmentTokens, useRevokeEnrollmentToken, type EnrollmentToken } from './queries';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';

const statusColor: Record<EnrollmentToken['status'], string> = {
  active: 'green',
  revoked: 'gray',
  expired: 'orange',
  exhausted: 'yellow',
};

function when(value: string | null, otherwise: string): string {
  return value ? new Date(value).toLocaleString() : otherwise;
}

/** Enrollment tokens a page at a time (the server's cursors, kept to go back), and their commands. */
export function EnrollmentPage() {
  const pages = useCursorPages();
  const tokens = useEnrollmentTokens(pages.cursor);
  const groups = useGroups();
  const [creating, createModal] = useDisclosure();
  const [shown, setShown] = useState<EnrollmentToken | null>(null);
  const canCreate = usePermission('enrollment:create');
  const canRevoke = usePermission('enrollment:delete');
  const revoke = useRevokeEnrollmentToken();

  const groupName = new Map((groups.data?.items ?? []).map((group) => [group.id, group.name]));
  const confirmRevoke = (token: EnrollmentToken) =>
    confirmDestructive({
      title: `Revoke ${token.name}?`,
      body: 'No machine can enroll with it any more; agents it enrolled stay.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(token.id),
    });

  const items = tokens.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Enrollment</Title>
        <Group gap="xs">
          <Button component={Link} to="/installers" variant="default">
            Install agents
          </Button>
          {canCreate && <Button onClick={createModal.open}>Create token</Button>}
        </Group>
      </Group>
      {tokens.error && <Alert color="red">{tokens.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Token</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Group</Table.Th>
            <Table.Th>Uses</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((token) => (
            <Table.Tr key={token.id} data-testid="token-row">
              <Table.Td>{token.name}</Table.Td>
              <Table.Td>
                <Code>{token.prefix}…</Code>
              </Table.Td>
              <Table.Td>
                <Badge color={statusColor[token.status]} variant="light">
                  {token.status}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {token.tags.map((tag) => (
                    <Badge key={tag} variant="outline" size="sm">
                      {tag}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>{token.group_id ? (groupName.get(token.group_id) ?? token.group_id) : '—'}</Table.Td>
              <Table.Td>
                {token.uses} / {token.max_uses ?? '∞'}
              </Table.Td>
              <Table.Td>{when(token.expires_at, 'never')}</Table.Td>
              <Table.Td>
                <Group gap="xs" justify="flex-end" wrap="nowrap">
                  <Button size="xs" variant="default" onClick={() => setShown(token)}>
                    Commands
                  </Button>
                  {canRevoke && token.status === 'active' && (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmRevoke(token)}>
                      Revoke
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {tokens.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No enrollment token yet. Create one, then run its command on each machine.
        </Text>
      )}
      <Pager pages={pages} nextCursor={tokens.data?.next_cursor} />
      <CreateTokenModal opened={creating} onClose={createModal.close} />
      <Modal
        opened={shown !== null}
        onClose={() => setShown(null)}
        title={`Enroll with ${shown?.name ?? ''}`}
        size="lg"
      >
        <Stack>
          <Text size="sm">
            The secret was shown once, when the token was created: put it in place of{' '}
            <Code>{shown?.prefix}…</Code>.
          </Text>
          <EnrollCommands token={`${shown?.prefix ?? ''}…`} />
        </Stack>
      </Modal>
    </Stack>
  );
}
