import { formatBytes } from '../../shell/bytes';
import {
  Alert,
  Badge,
  Button,
  Code,
  Drawer,
  FileButton,
  Group,
  Progress,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useState } from 'react';
import { usePermission } from '../auth/session';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import {
  downloadPackage,
  useDeletePackage,
  usePackage,
  usePackages,
  useSetPackageActive,
  useUploadPackage,
  type Package,
} from './queries';

/** Upload button with a progress bar while the zip goes up; the server's refusal is shown as is. */
function UploadPackage() {
  const upload = useUploadPackage();
  const [progress, setProgress] = useState<number | null>(null);
  const start = (file: File | null) => {
    if (!file) return;
    setProgress(0);
    upload.mutate(
      { file, onProgress: setProgress },
      {
        onSuccess: (created) =>
          notifications.show({ color: 'green', message: `Uploaded ${created.name} ${created.version}` }),
        onSettled: () => setProgress(null),
      },
    );
  };
  return (
    <Stack gap={4} align="flex-end">
      <FileButton onChange={start} accept="application/zip,.zip">
        {(props) => (
          <Button {...props} loading={upload.isPending}>
            Upload package
          </Button>
        )}
      </FileButton>
      {progress !== null && <Progress value={progress * 100} w={200} aria-label="Upload progress" />}
      {upload.error && (
        <Alert color="red" title="Upload refused" data-testid="upload-error">
          {upload.error.message}
        </Alert>
      )}
    </Stack>
  );
}

/** One package version: its manifest and entry points, and what may be done with it. */
function PackageDrawer({ id, onClose }: { id: string | null; onClose: () => void }) {
  const pkg = usePackage(id);
  const canUpdate = usePermission('packages:update');
  const canDelete = usePermission('packages:delete');
  const setActive = useSetPackageActive();
  const remove = useDeletePackage();
  const data = pkg.data;
  const confirmDelete = () =>
    data &&
    confirmDestructive({
      title: `Delete ${data.name} ${data.version}?`,
      body: 'Processes can no longer run this version. A process that uses it keeps it from being deleted.',
      confirm: 'Delete',
      run: async () => {
        await remove.mutateAsync(data.id);
        onClose();
      },
    });
  return (
    <Drawer opened={id !== null} onClose={onClose} position="right" size="lg" title="Package">
      {pkg.error && <Alert color="red">{pkg.error.message}</Alert>}
      {data && (
        <Stack>
          <Group justify="space-between">
            <Title order={3}>
              {data.name}{' '}
              <Text span c="dimmed">
                {data.version}
              </Text>
            </Title>
            <Badge color={data.active ? 'green' : 'gray'} variant="light">
              {data.active ? 'active' : 'inactive'}
            </Badge>
          </Group>
          {data.description && <Text>{data.description}</Text>}
          <Text size="sm">
            {formatBytes(data.size)} · SHA-256 <Code style={{ wordBreak: 'break-all' }}>{data.hash}</Code>
          </Text>
          <Title order={4}>Entry points</Title>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Path</Table.Th>
                <Table.Th>Language</Table.Th>
                <Table.Th>Input</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.entry_points.map((entry) => (
                <Table.Tr key={entry.name} data-testid="entry-point-row">
                  <Table.Td>{entry.name}</Table.Td>
                  <Table.Td>
                    <Code>{entry.path}</Code>
                  </Table.Td>
                  <Table.Td>{entry.language}</Table.Td>
                  <Table.Td>{entry.input_schema ? 'schema' : 'none'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Title order={4}>Manifest</Title>
          <Code block>{JSON.stringify(data.manifest, null, 2)}</Code>
          <Group>
            <Button
              variant="default"
              onClick={() => void downloadPackage(data).catch(notifyFailure('Download failed'))}
            >
              Download
            </Button>
            {canUpdate && (
              <Button
                variant="light"
                loading={setActive.isPending}
                onClick={() =>
                  setActive.mutate(
                    { id: data.id, active: !data.active },
                    { onError: notifyFailure(data.active ? 'Deactivate failed' : 'Activate failed') },
                  )
                }
              >
                {data.active ? 'Deactivate' : 'Activate'}
              </Button>
            )}
            {canDelete && (
              <Button color="red" variant="light" onClick={confirmDelete}>
                Delete
              </Button>
            )}
          </Group>
        </Stack>
      )}
    </Drawer>
  );
}

/** Automation packages: versions of zips that robots run, newest first. */
export function PackagesPage() {
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const searchLater = useDebouncedCallback((value: string) => setQ(value.trim()), 300);
  const pages = useCursorPages(q);
  const packages = usePackages({ q: q || undefined }, pages.cursor);
  const canUpload = usePermission('packages:create');
  const [open, setOpen] = useState<string | null>(null);
  const items: Package[] = packages.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Title order={2}>Packages</Title>
        {canUpload && <UploadPackage />}
      </Group>
      <TextInput
        placeholder="Search name or description"
        aria-label="Search packages"
        value={text}
        onChange={(event) => {
          setText(event.currentTarget.value);
          searchLater(event.currentTarget.value);
        }}
      />
      {packages.error && <Alert color="red">{packages.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Entry points</Table.Th>
            <Table.Th>Size</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Uploaded</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((pkg) => (
            <Table.Tr
              key={pkg.id}
              data-testid="package-row"
              style={{ cursor: 'pointer' }}
              onClick={() => setOpen(pkg.id)}
            >
              <Table.Td>{pkg.name}</Table.Td>
              <Table.Td>{pkg.version}</Table.Td>
              <Table.Td>{pkg.entry_points.map((e) => e.name).join(', ')}</Table.Td>
              <Table.Td>{formatBytes(pkg.size)}</Table.Td>
              <Table.Td>
                <Badge color={pkg.active ? 'green' : 'gray'} variant="light">
                  {pkg.active ? 'active' : 'inactive'}
                </Badge>
              </Table.Td>
              <Table.Td>{new Date(pkg.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {packages.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {q
            ? `Nothing matches “${q}”.`
            : 'No package yet. Upload a zip with a fleetplane.json manifest at its root.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={packages.data?.next_cursor} />
      <PackageDrawer id={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}
