import { Group, Select, TextInput } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useSearchParams } from 'react-router';
import { useGroups, type AgentFilters } from './queries';

const osTypes: NonNullable<AgentFilters['os_type']>[] = [
  'linux',
  'ubuntu',
  'debian',
  'rhel',
  'centos',
  'proxmox',
  'windows',
  'windows_server',
  'macos',
  'other',
];

/** The filters live in the URL's query string: a filtered view can be linked and survives reload. */
export function useAgentFilters(): [AgentFilters, (name: keyof AgentFilters, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const filters: AgentFilters = {};
  const status = params.get('status');
  if (status === 'online' || status === 'offline' || status === 'pending') filters.status = status;
  const os = params.get('os_type');
  if (os && (osTypes as string[]).includes(os)) filters.os_type = os as AgentFilters['os_type'];
  for (const name of ['tag', 'group_id', 'q'] as const) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  const set = (name: keyof AgentFilters, value: string | null) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  return [filters, set];
}

export function AgentFilterBar({
  filters,
  onChange,
}: {
  filters: AgentFilters;
  onChange: (name: keyof AgentFilters, value: string | null) => void;
}) {
  const groups = useGroups();
  const setText = useDebouncedCallback((value: string) => onChange('q', value.trim() || null), 250);
  return (
    <Group>
      <TextInput
        aria-label="Search agents"
        placeholder="Name, hostname or IP"
        defaultValue={filters.q ?? ''}
        onChange={(e) => setText(e.currentTarget.value)}
      />
      <Select
        aria-label="Status"
        placeholder="Any status"
        clearable
        data={['online', 'offline', 'pending']}
        value={filters.status ?? null}
        onChange={(value) => onChange('status', value)}
      />
      <Select
        aria-label="Operating system"
        placeholder="Any OS"
        clearable
        data={osTypes}
        value={filters.os_type ?? null}
        onChange={(value) => onChange('os_type', value)}
      />
      <Select
        aria-label="Group"
        placeholder="Any group"
        clearable
        data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
        value={filters.group_id ?? null}
        onChange={(value) => onChange('group_id', value)}
      />
      <TextInput
        aria-label="Tag"
        placeholder="Tag"
        defaultValue={filters.tag ?? ''}
        onBlur={(e) => onChange('tag', e.currentTarget.value.trim().toLowerCase() || null)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onChange('tag', e.currentTarget.value.trim().toLowerCase() || null);
        }}
      />
    </Group>
  );
}
