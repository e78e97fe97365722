import { Alert, Badge, Button, Code, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useRoles } from '../access/queries';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { CreateApiKeyModal } from './CreateApiKeyModal';
import { useApiKeys, useRevokeApiKey, type ApiKey } from './queries';
import { confirmDestructive } from '../../shell/confirm';

function statusOf(key: ApiKey): 'active' | 'revoked' | 'expired' {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && new Date(key.expires_at).getTime() <= Date.now()) return 'expired';
  return 'active';
}

const statusColor = { active: 'green', revoked: 'gray', expired: 'orange' } as const;

function when(value: string | null, otherwise: string): string {
  return value ? new Date(value).toLocaleString() : otherwise;
}

/** API keys, masked to their prefix; the whole key is shown once, by the create modal. */
export function ApiKeysPage() {
  const pages = useCursorPages();
  const keys = useApiKeys(pages.cursor);
  const roles = useRoles();
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('api_keys:create');
  const canRevoke = usePermission('api_keys:delete');
  const revoke = useRevokeApiKey();

  const roleName = new Map((roles.data?.items ?? []).map((role) => [role.id, role.name]));
  const confirmRevoke = (key: ApiKey) =>
    confirmDestructive({
      title: `Revoke ${key.name}?`,
      body: 'Requests with this key are refused from now on.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(key.id),
    });

  const items = keys.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>API keys</Title>
        {canCreate && <Button onClick={createModal.open}>Create key</Button>}
      </Group>
      {keys.error && <Alert color="red">{keys.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Key</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((key) => {
            const status = statusOf(key);
            return (
              <Table.Tr key={key.id} data-testid="api-key-row">
                <Table.Td>{key.name}</Table.Td>
                <Table.Td>
                  <Code>{key.prefix}…</Code>
                </Table.Td>
                <Table.Td>{roleName.get(key.role_id) ?? key.role_id}</Table.Td>
                <Table.Td>
                  <Badge color={statusColor[status]} variant="light">
                    {status}
                  </Badge>
                </Table.Td>
                <Table.Td>{when(key.expires_at, 'never')}</Table.Td>
                <Table.Td>{when(key.last_used_at, 'never')}</Table.Td>
                <Table.Td>
                  {canRevoke && status === 'active' && (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmRevoke(key)}>
                      Revoke
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {keys.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No API key yet. Create one for a script or CI job to call the API.
        </Text>
      )}
      <Pager pages={pages} nextCursor={keys.data?.next_cursor} />
      <CreateApiKeyModal opened={creating} onClose={createModal.close} />
    </Stack>
  );
}
