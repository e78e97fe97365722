import { MultiSelect, Select, Stack, TagsInput, Text } from '@mantine/core';
import { useState } from 'react';
import { useAgents, useGroups } from '../agents/queries';
import type { ExecuteTarget } from './queries';

export type TargetMode = 'agents' | 'tags' | 'group' | 'all';

export interface TargetDraft {
  mode: TargetMode;
  agentIds: string[];
  tags: string[];
  groupId: string | null;
}

export const emptyTarget: TargetDraft = { mode: 'agents', agentIds: [], tags: [], groupId: null };

/** The API's target from the draft, or null while it names no agent. */
export function targetOf(draft: TargetDraft): ExecuteTarget | null {
  switch (draft.mode) {
    case 'agents':
      return draft.agentIds.length > 0 ? { agent_ids: draft.agentIds } : null;
    case 'tags':
      return draft.tags.length > 0 ? { tags: draft.tags.map((tag) => tag.toLowerCase()) } : null;
    case 'group':
      return draft.groupId ? { group_id: draft.groupId } : null;
    case 'all':
      return { all: true };
  }
}

function AgentPicker({ value, onChange }: { value: string[]; onChange: (ids: string[]) => void }) {
  const [search, setSearch] = useState('');
  const agents = useAgents({ q: search || undefined }, undefined, 50);
  // chosen agents stay listed when the search no longer finds them
  const [known, setKnown] = useState(new Map<string, string>());
  const found = (agents.data?.items ?? []).map((agent) => ({ value: agent.id, label: agent.name }));
  const options = new Map(known);
  for (const option of found) options.set(option.value, option.label);
  return (
    <MultiSelect
      label="Agents"
      required
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options: shown }) => shown}
      data={[...options].map(([id, label]) => ({ value: id, label }))}
      value={value}
      onChange={(ids) => {
        setKnown(new Map([...options].filter(([id]) => ids.includes(id))));
        onChange(ids);
      }}
      nothingFoundMessage="No agent found"
    />
  );
}

/** Where a run goes: agents picked by name, agents with tags, a group, or every agent. */
export function ExecuteTargetInput(props: { draft: TargetDraft; onChange: (draft: TargetDraft) => void }) {
  const { draft, onChange } = props;
  const groups = useGroups();
  return (
    <Stack gap="xs">
      <Select
        label="Target"
        allowDeselect={false}
        data={[
          { value: 'agents', label: 'Agents picked by name' },
          { value: 'tags', label: 'Agents with tags' },
          { value: 'group', label: 'A group' },
          { value: 'all', label: 'All agents' },
        ]}
        value={draft.mode}
        onChange={(mode) => {
          const picked = (['agents', 'tags', 'group', 'all'] as const).find((m) => m === mode);
          if (picked) onChange({ ...draft, mode: picked });
        }}
      />
      {draft.mode === 'agents' && (
        <AgentPicker value={draft.agentIds} onChange={(agentIds) => onChange({ ...draft, agentIds })} />
      )}
      {draft.mode === 'tags' && (
        <TagsInput label="Tags" value={draft.tags} onChange={(tags) => onChange({ ...draft, tags })} />
      )}
      {draft.mode === 'group' && (
        <Select
          label="Group"
          data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
          value={draft.groupId}
          onChange={(groupId) => onChange({ ...draft, groupId })}
        />
      )}
      {draft.mode === 'all' && (
        <Text size="sm" c="dimmed">
          Every agent of the organisation; offline ones run it when they come back, until the run&apos;s
          deadline.
        </Text>
      )}
    </Stack>
  );
}
