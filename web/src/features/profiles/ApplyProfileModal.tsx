import { Button, Group, Modal, MultiSelect, Select, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useAgents, useGroups } from '../agents/queries';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { useApplyProfile, useProfiles, type ApplyBody } from './queries';

type TargetMode = 'agents' | 'tags' | 'group' | 'all';

function targetOf(mode: TargetMode, form: { agentIds: string[]; tags: string[]; groupId: string | null }) {
  switch (mode) {
    case 'agents':
      return { agent_ids: form.agentIds };
    case 'tags':
      return { target: { tags: form.tags.map((tag) => tag.toLowerCase()) } };
    case 'group':
      return { target: { group_id: form.groupId ?? '' } };
    case 'all':
      return { target: { all: true } };
  }
}

/** Agents by name, searched on the server, for the picker. */
function AgentPicker(props: { value: string[]; onChange: (ids: string[]) => void; error?: string }) {
  const [search, setSearch] = useState('');
  const agents = useAgents({ q: search || undefined }, undefined, 50);
  const options = (agents.data?.items ?? []).map((agent) => ({ value: agent.id, label: agent.name }));
  // chosen agents stay listed (by id) while a search hides them
  for (const id of props.value)
    if (!options.some((option) => option.value === id)) options.push({ value: id, label: id });
  return (
    <MultiSelect
      label="Agents"
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options: shown }) => shown}
      data={options}
      value={props.value}
      onChange={props.onChange}
      nothingFoundMessage="No agent found"
      error={props.error}
    />
  );
}

/** Profiles by name, searched on the server. */
function ProfilePicker(props: { value: string | null; onChange: (id: string | null) => void }) {
  const [search, setSearch] = useState('');
  const profiles = useProfiles('profile', undefined, 50, search);
  return (
    <Select
      label="Profile"
      required
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options }) => options}
      data={(profiles.data?.items ?? []).map((profile) => ({ value: profile.id, label: profile.name }))}
      value={props.value}
      onChange={props.onChange}
      nothingFoundMessage="No profile found"
    />
  );
}

/**
 * Applies a profile: one run in which each agent works through the tasks in order, then its page.
 * Given `agentIds` (a selection on the agents page) it runs on those and asks for the profile;
 * given `profileId` (the profile's page) it asks for the target: agents, tags, a group or all.
 */
export function ApplyProfileModal(props: {
  agentIds: string[];
  profileId?: string;
  opened: boolean;
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const apply = useApplyProfile();
  const groups = useGroups();
  const [profileId, setProfileId] = useState<string | null>(props.profileId ?? null);
  const [mode, setMode] = useState<TargetMode>('agents');
  const [agentIds, setAgentIds] = useState<string[]>([]);
  const [tags, setTags] = useState<string[]>([]);
  const [groupId, setGroupId] = useState<string | null>(null);
  const [name, setName] = useState('');
  const errors = fieldErrorsOf(apply.error);
  const shown = ['agent_ids', 'target'];
  const selected = props.agentIds.length > 0;

  const close = () => {
    props.onClose();
    apply.reset();
  };
  const submit = () => {
    if (!profileId) return;
    const body: ApplyBody = {
      ...(selected ? { agent_ids: props.agentIds } : targetOf(mode, { agentIds, tags, groupId })),
      ...(name.trim() ? { name: name.trim() } : {}),
    };
    apply.mutate({ id: profileId, body }, { onSuccess: (run) => void navigate(`/runs/${run.id}`) });
  };
  const ready =
    profileId !== null &&
    (selected ||
      (mode === 'agents' && agentIds.length > 0) ||
      (mode === 'tags' && tags.length > 0) ||
      (mode === 'group' && groupId !== null) ||
      mode === 'all');

  return (
    <Modal opened={props.opened} onClose={close} title="Apply a profile" size="lg">
      <Stack>
        {!props.profileId && <ProfilePicker value={profileId} onChange={setProfileId} />}
        {selected ? (
          <Text size="sm">On the {props.agentIds.length} selected agent(s).</Text>
        ) : (
          <>
            <Select
              label="Target"
              allowDeselect={false}
              data={[
                { value: 'agents', label: 'Chosen agents' },
                { value: 'tags', label: 'Agents with tags' },
                { value: 'group', label: 'A group' },
                { value: 'all', label: 'All agents' },
              ]}
              value={mode}
              onChange={(value) => value && setMode(value)}
            />
            {mode === 'agents' && (
              <AgentPicker value={agentIds} onChange={setAgentIds} error={errorUnder(errors, 'agent_ids')} />
            )}
            {mode === 'tags' && (
              <TagsInput label="Tags" value={tags} onChange={setTags} error={errorUnder(errors, 'target')} />
            )}
            {mode === 'group' && (
              <Select
                label="Group"
                data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
                value={groupId}
                onChange={setGroupId}
                error={errorUnder(errors, 'target')}
              />
            )}
          </>
        )}
        <TextInput
          label="Run name"
          description="The profile's name when empty"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        <RefusalAlert error={apply.error} shown={shown} />
        <Group justify="flex-end">
          <Button onClick={submit} loading={apply.isPending} disabled={!ready}>
            Apply
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
