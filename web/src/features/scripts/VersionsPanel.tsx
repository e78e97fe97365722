import { Alert, Button, Group, Loader, Select, Stack, Table, Text, Title } from '@mantine/core';
import { lazy, Suspense, useState } from 'react';
import { Pager, useCursorPages } from '../../shell/paging';
import { useScriptVersion, useScriptVersions, type Script } from './queries';

const VersionDiff = lazy(() => import('./VersionDiff'));

function versionOptions(current: number) {
  return Array.from({ length: current }, (_, i) => {
    const version = current - i;
    return { value: String(version), label: version === current ? `v${version} (current)` : `v${version}` };
  });
}

function Comparison({ script, before, after }: { script: Script; before: number; after: number }) {
  const older = useScriptVersion(script.id, before);
  const newer = useScriptVersion(script.id, after);
  const error = older.error ?? newer.error;
  if (error) return <Alert color="red">{error.message}</Alert>;
  if (!older.data || !newer.data) return <Loader size="sm" />;
  return (
    <Stack gap="xs">
      {older.data.language !== newer.data.language && (
        <Text size="sm">
          Language: {older.data.language} → {newer.data.language}
        </Text>
      )}
      {JSON.stringify(older.data.parameters) !== JSON.stringify(newer.data.parameters) && (
        <Text size="sm">
          Parameters: {older.data.parameters.map((p) => p.name).join(', ') || 'none'} →{' '}
          {newer.data.parameters.map((p) => p.name).join(', ') || 'none'}
        </Text>
      )}
      <Suspense fallback={<Loader size="sm" aria-label="Loading the diff" />}>
        <VersionDiff before={older.data.content} after={newer.data.content} language={newer.data.language} />
      </Suspense>
    </Stack>
  );
}

/**
 * The script's versions, newest first, and a diff of any two: by default the one before the
 * current against the current.
 */
export function VersionsPanel({ script }: { script: Script }) {
  const pages = useCursorPages(script.id);
  const versions = useScriptVersions(script.id, pages.cursor);
  const [before, setBefore] = useState(Math.max(1, script.version - 1));
  const [after, setAfter] = useState(script.version);
  const options = versionOptions(script.version);
  const items = versions.data?.items ?? [];

  return (
    <Stack>
      <Title order={4}>Versions</Title>
      {versions.error && <Alert color="red">{versions.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Version</Table.Th>
            <Table.Th>Language</Table.Th>
            <Table.Th>Parameters</Table.Th>
            <Table.Th>Saved</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((version) => (
            <Table.Tr key={version.version} data-testid="version-row">
              <Table.Td>
                v{version.version}
                {version.version === script.version && ' (current)'}
              </Table.Td>
              <Table.Td>{version.language}</Table.Td>
              <Table.Td>{version.parameters.map((p) => p.name).join(', ') || '—'}</Table.Td>
              <Table.Td>{new Date(version.created_at).toLocaleString()}</Table.Td>
              <Table.Td>
                {version.version !== script.version && (
                  <Button
                    size="xs"
                    variant="default"
                    onClick={() => {
                      setBefore(version.version);
                      setAfter(script.version);
                    }}
                  >
                    Compare with current
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager pages={pages} nextCursor={versions.data?.next_cursor} labels={['Newer', 'Older']} />
      {script.version < 2 ? (
        <Text size="sm" c="dimmed">
          One version so far: saving a change to the code, language or parameters adds the next.
        </Text>
      ) : (
        <>
          <Group>
            <Select
              label="Compare"
              data={options}
              value={String(before)}
              onChange={(value) => value && setBefore(Number(value))}
              allowDeselect={false}
              w={160}
            />
            <Select
              label="with"
              data={options}
              value={String(after)}
              onChange={(value) => value && setAfter(Number(value))}
              allowDeselect={false}
              w={160}
            />
          </Group>
          <Comparison script={script} before={before} after={after} />
        </>
      )}
    </Stack>
  );
}
