import {
  ActionIcon,
  Alert,
  Button,
  Checkbox,
  Group,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { usePermission } from '../auth/session';
import {
  useCreateRole,
  useDeleteRole,
  usePermissionCatalogue,
  useRoles,
  useUpdateRolePermissions,
  type Role,
} from './queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';

function NewRoleForm() {
  const [name, setName] = useState('');
  const create = useCreateRole();
  return (
    <Group align="flex-start">
      <TextInput
        aria-label="New role name"
        placeholder="new-role-name"
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        error={create.error?.message}
      />
      <Button
        variant="default"
        disabled={!name.trim()}
        loading={create.isPending}
        onClick={() =>
          create.mutate({ name: name.trim(), permissions: [] }, { onSuccess: () => setName('') })
        }
      >
        Create role
      </Button>
    </Group>
  );
}

/**
 * Permissions as rows, roles as columns. A custom role's box saves its new permission list at
 * once; built-in roles are fixed by the server, so their boxes are read-only.
 */
export function RolesMatrix() {
  const roles = useRoles();
  const catalogue = usePermissionCatalogue();
  const canCreate = usePermission('roles:create');
  const canUpdate = usePermission('roles:update');
  const canDelete = usePermission('roles:delete');
  const update = useUpdateRolePermissions();
  const remove = useDeleteRole();

  const toggle = (role: Role, permission: string, on: boolean) => {
    const permissions = on
      ? [...role.permissions, permission]
      : role.permissions.filter((held) => held !== permission);
    update.mutate({ id: role.id, permissions }, { onError: notifyFailure('Change failed') });
  };
  const confirmDelete = (role: Role) =>
    confirmDestructive({
      title: `Delete the role ${role.name}?`,
      body: 'Only a role that nobody holds can be deleted.',
      confirm: 'Delete',
      run: () => remove.mutateAsync(role.id),
    });

  const items = roles.data?.items ?? [];
  const builtin = catalogue.data?.builtin_roles ?? {};
  const held = (role: Role): string[] =>
    role.builtin ? (builtin[role.name] ?? role.permissions) : role.permissions;
  const artifacts = Object.entries(catalogue.data?.artifacts ?? {});
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Roles</Title>
        {canCreate && <NewRoleForm />}
      </Group>
      {(roles.error ?? catalogue.error) && (
        <Alert color="red">{(roles.error ?? catalogue.error)?.message}</Alert>
      )}
      <Table.ScrollContainer minWidth={600}>
        <Table striped withColumnBorders data-testid="role-matrix">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Permission</Table.Th>
              {items.map((role) => (
                <Table.Th key={role.id} ta="center">
                  <Group gap={4} justify="center" wrap="nowrap">
                    <Text size="sm" fw={600} title={role.description}>
                      {role.name}
                    </Text>
                    {!role.builtin && canDelete && (
                      <ActionIcon
                        size="xs"
                        color="red"
                        variant="subtle"
                        aria-label={`Delete role ${role.name}`}
                        onClick={() => confirmDelete(role)}
                      >
                        ×
                      </ActionIcon>
                    )}
                  </Group>
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {artifacts.flatMap(([artifact, actions]) =>
              actions.map((action) => {
                const permission = `${artifact}:${action}`;
                return (
                  <Table.Tr key={permission}>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {permission}
                      </Text>
                    </Table.Td>
                    {items.map((role) => (
                      <Table.Td key={role.id}>
                        <Group justify="center">
                          <Checkbox
                            aria-label={`${role.name} ${permission}`}
                            checked={held(role).includes(permission)}
                            disabled={role.builtin || !canUpdate || update.isPending}
                            onChange={(e) => toggle(role, permission, e.currentTarget.checked)}
                          />
                        </Group>
                      </Table.Td>
                    ))}
                  </Table.Tr>
                );
              }),
            )}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
