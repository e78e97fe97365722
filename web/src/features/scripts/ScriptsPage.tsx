import {
  Alert,
  Anchor,
  Badge,
  Button,
  CloseButton,
  Group,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { SCRIPT_KINDS, useScripts, type ScriptFilters } from './queries';

/** The kind and text filters live in the URL: a filtered view can be linked and survives reload. */
function useScriptFilters(): [ScriptFilters, (patch: Partial<Record<keyof ScriptFilters, string>>) => void] {
  const [params, setParams] = useSearchParams();
  const filters: ScriptFilters = {
    kind: SCRIPT_KINDS.find((kind) => kind === params.get('kind')),
    q: params.get('q') || undefined,
    tag: params.get('tag') || undefined,
  };
  const set = (patch: Partial<Record<keyof ScriptFilters, string>>) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(patch)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  return [filters, set];
}

function emptyMessage(filters: ScriptFilters): string {
  if (filters.q) return `Nothing matches “${filters.q}”.`;
  if (filters.tag) return `Nothing is tagged “${filters.tag}”.`;
  if (filters.kind === 'command') return 'No saved command yet.';
  return 'No script yet. Create one to run it on one agent or on many.';
}

const OS_LABELS: Record<string, string> = { linux: 'Linux', windows: 'Windows', macos: 'macOS' };

/**
 * The library: scripts and saved commands, newest first, a page at a time. A new organisation
 * starts with saved commands per OS tagged `starter`; a tag shown on a row filters by it.
 */
export function ScriptsPage() {
  const [filters, setFilters] = useScriptFilters();
  const [text, setText] = useState(filters.q ?? '');
  const searchLater = useDebouncedCallback((q: string) => setFilters({ q: q.trim() }), 300);
  const pages = useCursorPages(`${filters.kind ?? ''}|${filters.q ?? ''}|${filters.tag ?? ''}`);
  const scripts = useScripts(filters, pages.cursor);
  const canCreate = usePermission('scripts:create');
  const items = scripts.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Scripts</Title>
        {canCreate && (
          <Button component={Link} to="/scripts/new">
            Create script
          </Button>
        )}
      </Group>
      <Group>
        <SegmentedControl
          aria-label="Kind"
          data={[
            { value: '', label: 'All' },
            { value: 'script', label: 'Scripts' },
            { value: 'command', label: 'Saved commands' },
          ]}
          value={filters.kind ?? ''}
          onChange={(kind) => setFilters({ kind })}
        />
        <TextInput
          aria-label="Search"
          placeholder="Search name or description"
          value={text}
          onChange={(e) => {
            setText(e.currentTarget.value);
            searchLater(e.currentTarget.value);
          }}
          w={280}
        />
        {filters.tag && (
          <Badge
            size="lg"
            variant="outline"
            rightSection={
              <CloseButton
                size="xs"
                aria-label="Clear the tag filter"
                onClick={() => setFilters({ tag: '' })}
              />
            }
          >
            tag: {filters.tag}
          </Badge>
        )}
      </Group>
      {scripts.error && <Alert color="red">{scripts.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Language</Table.Th>
            <Table.Th>OS</Table.Th>
            <Table.Th>Parameters</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((script) => (
            <Table.Tr key={script.id} data-testid="script-row">
              <Table.Td>
                <Anchor component={Link} to={`/scripts/${script.id}`}>
                  {script.name}
                </Anchor>
                {script.description && (
                  <Text size="xs" c="dimmed" lineClamp={1}>
                    {script.description}
                  </Text>
                )}
                {script.tags.length > 0 && (
                  <Group gap={4} mt={4}>
                    {script.tags.map((tag) => (
                      <Badge
                        key={tag}
                        variant="outline"
                        size="sm"
                        component="button"
                        style={{ cursor: 'pointer' }}
                        title={`Show what is tagged ${tag}`}
                        onClick={() => setFilters({ tag })}
                      >
                        {tag}
                      </Badge>
                    ))}
                  </Group>
                )}
              </Table.Td>
              <Table.Td>
                {/* max-content: a long name column must not shrink the badge to "comm…" */}
                <Badge variant="light" color={script.kind === 'command' ? 'grape' : 'blue'} miw="max-content">
                  {script.kind}
                </Badge>
              </Table.Td>
              <Table.Td>{script.language}</Table.Td>
              <Table.Td>
                {script.target_os_type ? (OS_LABELS[script.target_os_type] ?? script.target_os_type) : 'any'}
              </Table.Td>
              <Table.Td>{script.parameters.map((p) => p.name).join(', ') || '—'}</Table.Td>
              <Table.Td>v{script.version}</Table.Td>
              <Table.Td>{new Date(script.updated_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {scripts.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {emptyMessage(filters)}
        </Text>
      )}
      <Pager pages={pages} nextCursor={scripts.data?.next_cursor} />
    </Stack>
  );
}
