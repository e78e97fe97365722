import { Alert, Badge, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { AssetValuesModal } from './AssetValuesModal';
import { CreateAssetModal } from './CreateAssetModal';
import { assetTypes, useAssets, useDeleteAsset, type Asset, type AssetFilters } from './queries';

function valueSummary(asset: Asset): string {
  const parts = [asset.global_value ? 'global value' : 'no global value'];
  if (asset.robot_value_count > 0) parts.push(`${asset.robot_value_count} robot value(s)`);
  return parts.join(', ');
}

/** Credential assets: what exists and who has a value; the values themselves are never shown. */
export function AssetsPage() {
  const [filters, setFilters] = useState<AssetFilters>({});
  const pages = useCursorPages(JSON.stringify(filters));
  const assets = useAssets(filters, pages.cursor);
  const [creating, createModal] = useDisclosure();
  const [shownId, setShownId] = useState<string | null>(null);
  const canCreate = usePermission('assets:create');
  const canUpdate = usePermission('assets:update');
  const canDelete = usePermission('assets:delete');
  const remove = useDeleteAsset();
  const confirmDelete = (asset: Asset) =>
    confirmDestructive({
      title: `Delete ${asset.name}?`,
      body: 'Its values go with it; processes asking for it fail from now on.',
      confirm: 'Delete',
      run: () => remove.mutateAsync(asset.id),
    });
  const setFilter = (name: keyof AssetFilters, value: string | null) =>
    setFilters((f) => ({ ...f, [name]: value || undefined }));

  const items = assets.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Assets</Title>
        {canCreate && <Button onClick={createModal.open}>Create asset</Button>}
      </Group>
      <Group>
        <TextInput
          placeholder="Search name or description"
          value={filters.q ?? ''}
          onChange={(e) => setFilter('q', e.currentTarget.value)}
        />
        <Select
          placeholder="Any type"
          clearable
          data={assetTypes}
          value={filters.type ?? null}
          onChange={(value) => setFilter('type', value)}
        />
      </Group>
      {assets.error && <Alert color="red">{assets.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Description</Table.Th>
            <Table.Th>Values</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((asset) => (
            <Table.Tr key={asset.id} data-testid="asset-row">
              <Table.Td>{asset.name}</Table.Td>
              <Table.Td>
                <Badge variant="light">{asset.type}</Badge>
              </Table.Td>
              <Table.Td>{asset.description}</Table.Td>
              <Table.Td>
                {valueSummary(asset)}
                {asset.global_value?.username ? ` (username ${asset.global_value.username})` : ''}
              </Table.Td>
              <Table.Td>
                <Group gap="xs" justify="flex-end">
                  <Button size="xs" variant="light" onClick={() => setShownId(asset.id)}>
                    Values
                  </Button>
                  {canDelete && (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmDelete(asset)}>
                      Delete
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {assets.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No asset yet. Create one for the credentials and settings your processes need.
        </Text>
      )}
      <Pager pages={pages} nextCursor={assets.data?.next_cursor} />
      <CreateAssetModal opened={creating} onClose={createModal.close} />
      <AssetValuesModal assetId={shownId} canUpdate={canUpdate} onClose={() => setShownId(null)} />
    </Stack>
  );
}
