import { Group, Select, TextInput } from '@mantine/core';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { OS_TYPES, useGroups, type AgentFilters } from './queries';

/** `connected` in the URL: a server node holds the agent's WebSocket, or not. */
const CONNECTION_CHOICES = [
  { value: 'true', label: 'Connected' },
  { value: 'false', label: 'Not connected' },
];

function filtersOf(params: URLSearchParams): AgentFilters {
  const filters: AgentFilters = {};
  const status = params.get('status');
  if (status === 'online' || status === 'offline' || status === 'pending') filters.status = status;
  const connected = params.get('connected');
  if (connected === 'true' || connected === 'false') filters.connected = connected === 'true';
  const os = params.get('os_type');
  if (os && (OS_TYPES as string[]).includes(os)) filters.os_type = os as AgentFilters['os_type'];
  for (const name of ['tag', 'group_id', 'q'] as const) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/**
 * The filters live in the URL's query string: a filtered view can be linked and survives reload.
 * The router applies a URL change as a transition, rendered after the browser paints, which
 * would hold the list's request back: so the list follows a change from this state at once, the
 * URL follows it, and a URL changed otherwise (a link, Back) is taken up.
 */
export function useAgentFilters(): [AgentFilters, (name: keyof AgentFilters, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const [filters, setFilters] = useState(() => filtersOf(params));
  const latest = useRef(query);
  /** Queries written to the URL and not yet seen there, oldest first. */
  const written = useRef<string[]>([]);
  useEffect(() => {
    const ours = written.current.indexOf(query);
    if (ours >= 0) {
      written.current.splice(0, ours + 1);
      return;
    }
    written.current = [];
    latest.current = query;
    setFilters(filtersOf(new URLSearchParams(query)));
  }, [query]);
  // the router's setter changes with each URL: the ref keeps `set` one function, so the filter
  // bar and the table (memoized) are not rendered again when only the URL catches up
  const setParamsRef = useRef(setParams);
  setParamsRef.current = setParams;
  const set = useCallback((name: keyof AgentFilters, value: string | null) => {
    const next = new URLSearchParams(latest.current);
    if (value) next.set(name, value);
    else next.delete(name);
    latest.current = next.toString();
    written.current.push(latest.current);
    setFilters(filtersOf(next));
    setParamsRef.current(next, { replace: true });
  }, []);
  return [filters, set];
}

export const AgentFilterBar = memo(function AgentFilterBar({
  filters,
  onChange,
}: {
  filters: AgentFilters;
  onChange: (name: keyof AgentFilters, value: string | null) => void;
}) {
  const groups = useGroups();
  // no debounce: the list answers a keystroke at once; the request for the text before it is cancelled
  const setText = (value: string) => onChange('q', value.trim() || null);
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
        aria-label="Connection"
        placeholder="Any connection"
        clearable
        data={CONNECTION_CHOICES}
        value={filters.connected === undefined ? null : String(filters.connected)}
        onChange={(value) => onChange('connected', value)}
      />
      <Select
        aria-label="Operating system"
        placeholder="Any OS"
        clearable
        data={OS_TYPES}
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
});
