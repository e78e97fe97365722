import { Stack, Title } from '@mantine/core';
import { InvitesTable } from './InvitesTable';
import { MembersTable } from './MembersTable';
import { RolesMatrix } from './RolesMatrix';

export function UsersPage() {
  return (
    <Stack gap="xl">
      <Title order={2}>Users & roles</Title>
      <MembersTable />
      <InvitesTable />
      <RolesMatrix />
    </Stack>
  );
}
