import { Group, Select, TextInput } from '@mantine/core';
import { useSearchParams } from 'react-router';
import type { AuditFilters } from './queries';

type Action = NonNullable<AuditFilters['action']>;
const actions: Action[] = [
  'created',
  'modified',
  'deleted',
  'status_changed',
  'login',
  'logout',
  'login_failed',
  'asset_read',
];
const textFilters = ['q', 'entity_type', 'entity_id', 'actor_type', 'actor_id', 'request_id'] as const;
const timeFilters = ['from', 'to'] as const;
export type AuditFilterName = keyof AuditFilters;

/** The filters live in the URL's query string, so a filtered view can be linked; times are ISO. */
export function useAuditFilters(): [AuditFilters, (name: AuditFilterName, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const filters: AuditFilters = {};
  const action = params.get('action');
  if (action && (actions as string[]).includes(action)) filters.action = action as Action;
  for (const name of [...textFilters, ...timeFilters]) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  const set = (name: AuditFilterName, value: string | null) =>
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

/** A local date-time input (what the browser offers) as an ISO time; an empty one clears. */
function toIso(local: string): string | null {
  const time = new Date(local);
  return local && !Number.isNaN(time.getTime()) ? time.toISOString() : null;
}

function toLocal(iso: string | undefined): string {
  if (!iso) return '';
  const time = new Date(iso);
  return new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

const labels: Record<(typeof textFilters)[number], string> = {
  q: 'Search',
  entity_type: 'Entity type',
  entity_id: 'Entity id',
  actor_type: 'Actor type',
  actor_id: 'Actor id',
  request_id: 'Request id',
};

export function AuditFilterBar({
  filters,
  onChange,
}: {
  filters: AuditFilters;
  onChange: (name: AuditFilterName, value: string | null) => void;
}) {
  return (
    <Group align="flex-end">
      <Select
        aria-label="Action"
        placeholder="Any action"
        clearable
        data={actions}
        value={filters.action ?? null}
        onChange={(value) => onChange('action', value)}
      />
      {textFilters.map((name) => (
        <TextInput
          key={name}
          aria-label={labels[name]}
          placeholder={labels[name]}
          defaultValue={filters[name] ?? ''}
          onBlur={(e) => onChange(name, e.currentTarget.value.trim() || null)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onChange(name, e.currentTarget.value.trim() || null);
          }}
        />
      ))}
      {timeFilters.map((name) => (
        <TextInput
          key={name}
          type="datetime-local"
          aria-label={name === 'from' ? 'From' : 'To'}
          defaultValue={toLocal(filters[name])}
          onChange={(e) => onChange(name, toIso(e.currentTarget.value))}
        />
      ))}
    </Group>
  );
}
