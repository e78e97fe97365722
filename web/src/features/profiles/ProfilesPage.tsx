import { Alert, Anchor, Button, Group, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { CreateProfileModal } from './CreateProfileModal';
import { pageOf, useProfiles, type ProfileKind } from './queries';

const EMPTY: Record<ProfileKind, string> = {
  profile: 'No profile yet. Create one, add its tasks in order, then apply it to agents.',
  template: 'No template yet. A template is a profile to copy: create one, then instantiate it.',
};

/** One kind's list, a page at a time. */
function ProfileList({ kind }: { kind: ProfileKind }) {
  const pages = useCursorPages(kind);
  const profiles = useProfiles(kind, pages.cursor);
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('profiles:create');
  const items = profiles.data?.items ?? [];
  return (
    <Stack pt="md">
      {canCreate && (
        <Group justify="flex-end">
          <Button onClick={createModal.open}>Create {kind}</Button>
        </Group>
      )}
      {profiles.error && <Alert color="red">{profiles.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Description</Table.Th>
            <Table.Th>Tasks</Table.Th>
            <Table.Th>Target OS</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((profile) => (
            <Table.Tr key={profile.id} data-testid="profile-row">
              <Table.Td>
                <Anchor component={Link} to={pageOf(kind, profile.id)}>
                  {profile.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Text size="sm" lineClamp={1}>
                  {profile.description}
                </Text>
              </Table.Td>
              <Table.Td>{profile.task_count}</Table.Td>
              <Table.Td>{profile.target_os_type ?? 'any'}</Table.Td>
              <Table.Td>{new Date(profile.updated_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {profiles.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {EMPTY[kind]}
        </Text>
      )}
      <Pager pages={pages} nextCursor={profiles.data?.next_cursor} />
      <CreateProfileModal kind={kind} opened={creating} onClose={createModal.close} />
    </Stack>
  );
}

/** Profiles and templates, one tab each; the tab lives in the URL (`?tab=templates`). */
export function ProfilesPage() {
  const [params, setParams] = useSearchParams();
  const tab: ProfileKind = params.get('tab') === 'templates' ? 'template' : 'profile';
  return (
    <Stack>
      <Title order={2}>Profiles & templates</Title>
      <Tabs
        value={tab}
        keepMounted={false}
        onChange={(value) => setParams(value === 'template' ? { tab: 'templates' } : {}, { replace: true })}
      >
        <Tabs.List>
          <Tabs.Tab value="profile">Profiles</Tabs.Tab>
          <Tabs.Tab value="template">Templates</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="profile">
          <ProfileList kind="profile" />
        </Tabs.Panel>
        <Tabs.Panel value="template">
          <ProfileList kind="template" />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
