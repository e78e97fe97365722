import { Alert, Badge, Button, Group, Modal, MultiSelect, Stack, Table, Title } from '@mantine/core';
import { useState } from 'react';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { useMembers, useRemoveMember, useRoles, useSetMemberRoles, type Member } from './queries';
import { confirmDestructive } from '../../shell/confirm';

/** States: closed → editing a member's roles → saved (closed) | refused (stays, with the server's message). */
function MemberRolesModal({ member, onClose }: { member: Member | null; onClose: () => void }) {
  const roles = useRoles();
  const save = useSetMemberRoles();
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [shown, setShown] = useState<Member | null>(null);
  if (member !== shown) {
    // a member opened: start from their roles
    setShown(member);
    setRoleIds(member?.roles.map((role) => role.id) ?? []);
    save.reset();
  }
  return (
    <Modal opened={member !== null} onClose={onClose} title={`Roles of ${member?.name ?? ''}`}>
      <Stack>
        <MultiSelect
          label="Roles"
          searchable
          data={(roles.data?.items ?? []).map((role) => ({ value: role.id, label: role.name }))}
          value={roleIds}
          onChange={setRoleIds}
        />
        {save.error && <Alert color="red">{save.error.message}</Alert>}
        <Group justify="flex-end">
          <Button
            disabled={roleIds.length === 0}
            loading={save.isPending}
            onClick={() => member && save.mutate({ id: member.id, roleIds }, { onSuccess: onClose })}
          >
            Save
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function MembersTable() {
  const pages = useCursorPages();
  const members = useMembers(pages.cursor);
  const [editing, setEditing] = useState<Member | null>(null);
  const canUpdate = usePermission('users:update');
  const canRemove = usePermission('users:delete');
  const remove = useRemoveMember();

  const confirmRemove = (member: Member) =>
    confirmDestructive({
      title: `Remove ${member.name}?`,
      body: `${member.email} loses access to this organisation.`,
      confirm: 'Remove',
      run: () => remove.mutateAsync(member.id),
    });

  const items = members.data?.items ?? [];
  return (
    <Stack>
      <Title order={3}>Members</Title>
      {members.error && <Alert color="red">{members.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th>Roles</Table.Th>
            <Table.Th>Joined</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((member) => (
            <Table.Tr key={member.id} data-testid="member-row">
              <Table.Td>{member.name}</Table.Td>
              <Table.Td>{member.email}</Table.Td>
              <Table.Td data-testid="member-roles">
                <Group gap={4}>
                  {member.roles.map((role) => (
                    <Badge key={role.id} variant="light" size="sm">
                      {role.name}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>{new Date(member.joined_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Group gap="xs" justify="flex-end" wrap="nowrap">
                  {canUpdate && (
                    <Button size="xs" variant="default" onClick={() => setEditing(member)}>
                      Roles
                    </Button>
                  )}
                  {canRemove && (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmRemove(member)}>
                      Remove
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager pages={pages} nextCursor={members.data?.next_cursor} />
      <MemberRolesModal member={editing} onClose={() => setEditing(null)} />
    </Stack>
  );
}
