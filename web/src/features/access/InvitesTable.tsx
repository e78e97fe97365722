import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { useCreateInvite, useInvites, useRevokeInvite, useRoles, type Invite } from './queries';
import { confirmDestructive } from '../../shell/confirm';
import { ShownOnce } from '../../shell/ShownOnce';

const statusColor: Record<Invite['status'], string> = {
  pending: 'blue',
  accepted: 'green',
  revoked: 'gray',
  expired: 'orange',
};

/**
 * States: form → created (the invite token, shown this once) → closed, which forgets it; a
 * refused invite stays on the form with the server's message.
 */
function InviteModal(props: { opened: boolean; onClose: () => void }) {
  const [email, setEmail] = useState('');
  const [roleId, setRoleId] = useState<string | null>(null);
  const roles = useRoles();
  const create = useCreateInvite();
  const close = () => {
    props.onClose();
    create.reset();
    setEmail('');
    setRoleId(null);
  };
  const created = create.data;
  return (
    <Modal opened={props.opened} onClose={close} title="Invite someone">
      {created ? (
        <ShownOnce
          what="invite token for"
          name={created.invite.email}
          secret={created.token}
          testId="invite-token"
          onDone={close}
        >
          <Text size="sm">They sign up with it.</Text>
        </ShownOnce>
      ) : (
        <Stack>
          <TextInput label="Email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
          <Select
            label="Role"
            required
            data={(roles.data?.items ?? []).map((role) => ({ value: role.id, label: role.name }))}
            value={roleId}
            onChange={setRoleId}
          />
          {create.error && <Alert color="red">{create.error.message}</Alert>}
          <Group justify="flex-end">
            <Button
              disabled={!email.trim() || !roleId}
              loading={create.isPending}
              onClick={() => roleId && create.mutate({ email: email.trim(), role_id: roleId })}
            >
              Invite
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

export function InvitesTable() {
  const pages = useCursorPages();
  const invites = useInvites(pages.cursor);
  const roles = useRoles();
  const [inviting, inviteModal] = useDisclosure();
  const canCreate = usePermission('invites:create');
  const canRevoke = usePermission('invites:delete');
  const revoke = useRevokeInvite();

  const roleName = new Map((roles.data?.items ?? []).map((role) => [role.id, role.name]));
  const confirmRevoke = (invite: Invite) =>
    confirmDestructive({
      title: `Revoke the invite of ${invite.email}?`,
      body: 'Its token no longer lets anyone join.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(invite.id),
    });

  const items = invites.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Invites</Title>
        {canCreate && <Button onClick={inviteModal.open}>Invite</Button>}
      </Group>
      {invites.error && <Alert color="red">{invites.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Email</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((invite) => (
            <Table.Tr key={invite.id} data-testid="invite-row">
              <Table.Td>{invite.email}</Table.Td>
              <Table.Td>{roleName.get(invite.role_id) ?? invite.role_id}</Table.Td>
              <Table.Td>
                <Badge color={statusColor[invite.status]} variant="light">
                  {invite.status}
                </Badge>
              </Table.Td>
              <Table.Td>{new Date(invite.expires_at).toLocaleString()}</Table.Td>
              <Table.Td>
                {canRevoke && invite.status === 'pending' && (
                  <Button size="xs" color="red" variant="light" onClick={() => confirmRevoke(invite)}>
                    Revoke
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {invites.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No invite yet.
        </Text>
      )}
      <Pager pages={pages} nextCursor={invites.data?.next_cursor} />
      <InviteModal opened={inviting} onClose={inviteModal.close} />
    </Stack>
  );
}
