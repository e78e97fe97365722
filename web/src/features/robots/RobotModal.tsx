import {
  Button,
  Group,
  Modal,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  TextInput,
  Textarea,
} from '@mantine/core';
import { useState } from 'react';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { ShownOnce } from '../../shell/ShownOnce';
import { useAgents } from '../agents/queries';
import { useAssets } from '../assets/queries';
import { useCreateRobot, useUpdateRobot, type Robot, type RobotKind } from './queries';

const SHOWN = ['name', 'description', 'agent_id', 'pools', 'credential_asset_id'] as const;

interface Draft {
  name: string;
  description: string;
  kind: RobotKind;
  agentId: string | null;
  pools: string[];
  credentialAssetId: string | null;
}

function draftOf(robot: Robot | undefined): Draft {
  return {
    name: robot?.name ?? '',
    description: robot?.description ?? '',
    kind: robot?.kind ?? 'runner',
    agentId: robot?.agent_id ?? null,
    pools: robot?.pools ?? [],
    credentialAssetId: robot?.credential_asset_id ?? null,
  };
}

/** The agent an agent robot lives on, picked by name; the robot's own agent stays listed. */
function AgentPicker(props: {
  value: string | null;
  current: Robot | undefined;
  error: string | undefined;
  onChange: (id: string | null) => void;
}) {
  const [search, setSearch] = useState('');
  const agents = useAgents({ q: search || undefined }, undefined, 50);
  const options = (agents.data?.items ?? []).map((agent) => ({
    value: agent.id,
    label: `${agent.name} (${agent.status})`,
  }));
  const { current } = props;
  if (current?.agent_id && !options.some((o) => o.value === current.agent_id))
    options.unshift({ value: current.agent_id, label: current.agent_name ?? current.agent_id });
  return (
    <Select
      label="Agent"
      description="The machine the robot runs on: it is online while its agent is"
      required
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options: all }) => all}
      data={options}
      value={props.value}
      onChange={props.onChange}
      nothingFoundMessage="No agent found"
      error={props.error}
    />
  );
}

/** Credential assets the robot's jobs may run as; none is allowed. */
function CredentialPicker(props: {
  value: string | null;
  error: string | undefined;
  onChange: (id: string | null) => void;
}) {
  const assets = useAssets({ type: 'credential' }, undefined, 200);
  return (
    <Select
      label="Credential"
      description="The credential asset its jobs run as"
      clearable
      data={(assets.data?.items ?? []).map((asset) => ({ value: asset.id, label: asset.name }))}
      value={props.value}
      onChange={props.onChange}
      error={props.error}
    />
  );
}

/**
 * Creates a robot, or edits one (`robot`). States: form → (a new runner) its machine key, shown
 * this once → closed, which forgets the key; a refusal stays on the form with the server's words.
 */
function RobotForm(props: { robot?: Robot; onDone: () => void }) {
  const { robot } = props;
  const [draft, setDraft] = useState(() => draftOf(robot));
  const create = useCreateRobot();
  const update = useUpdateRobot(robot?.id ?? '');
  const mutation = robot ? update : create;
  const errors = fieldErrorsOf(mutation.error);
  const set = <K extends keyof Draft>(name: K, value: Draft[K]) => setDraft((d) => ({ ...d, [name]: value }));

  const submit = () => {
    const common = {
      name: draft.name.trim(),
      description: draft.description,
      pools: draft.pools,
    };
    if (robot) {
      update.mutate(
        {
          ...common,
          credential_asset_id: draft.credentialAssetId,
          ...(robot.kind === 'agent' && draft.agentId ? { agent_id: draft.agentId } : {}),
        },
        { onSuccess: props.onDone },
      );
      return;
    }
    create.mutate(
      {
        ...common,
        kind: draft.kind,
        ...(draft.kind === 'agent' && draft.agentId ? { agent_id: draft.agentId } : {}),
        ...(draft.credentialAssetId ? { credential_asset_id: draft.credentialAssetId } : {}),
      },
      // A runner's machine key is shown before closing; an agent robot needs nothing more.
      { onSuccess: (created) => created.machine_key === null && props.onDone() },
    );
  };

  const machineKey = create.data?.machine_key;
  if (machineKey && create.data)
    return (
      <ShownOnce
        what="machine key of"
        name={create.data.robot.name}
        secret={machineKey}
        testId="robot-machine-key"
        onDone={props.onDone}
      />
    );
  const needsAgent = draft.kind === 'agent' && !draft.agentId;
  return (
    <Stack>
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => set('name', e.currentTarget.value)}
        error={errorUnder(errors, 'name')}
      />
      <Textarea
        label="Description"
        autosize
        minRows={2}
        value={draft.description}
        onChange={(e) => set('description', e.currentTarget.value)}
        error={errorUnder(errors, 'description')}
      />
      {!robot && (
        <SegmentedControl
          aria-label="Kind"
          data={[
            { value: 'runner', label: 'Runner (registers with a machine key)' },
            { value: 'agent', label: 'On one of our agents' },
          ]}
          value={draft.kind}
          onChange={(value) => set('kind', value)}
        />
      )}
      {draft.kind === 'agent' && (
        <AgentPicker
          value={draft.agentId}
          current={robot}
          error={errorUnder(errors, 'agent_id')}
          onChange={(id) => set('agentId', id)}
        />
      )}
      <TagsInput
        label="Pools"
        description="Pool names (lowercase letters, digits, . _ -): jobs for a pool run on its robots"
        value={draft.pools}
        onChange={(value) =>
          set(
            'pools',
            value.map((pool) => pool.trim().toLowerCase()),
          )
        }
        maxTags={20}
        error={errorUnder(errors, 'pools')}
      />
      <CredentialPicker
        value={draft.credentialAssetId}
        error={errorUnder(errors, 'credential_asset_id')}
        onChange={(id) => set('credentialAssetId', id)}
      />
      <RefusalAlert error={mutation.error} shown={SHOWN} />
      <Group justify="flex-end">
        <Button onClick={submit} loading={mutation.isPending} disabled={!draft.name.trim() || needsAgent}>
          {robot ? 'Save' : 'Create'}
        </Button>
      </Group>
    </Stack>
  );
}

export function RobotModal(props: { opened: boolean; robot?: Robot; onClose: () => void }) {
  const title = props.robot ? `Edit ${props.robot.name}` : 'Create a robot';
  return (
    <Modal opened={props.opened} onClose={props.onClose} title={title} size="lg">
      {/* The modal unmounts its content once closed: each opening starts from the robot as it is,
          and a key shown is forgotten. */}
      <RobotForm key={props.robot?.id ?? 'new'} robot={props.robot} onDone={props.onClose} />
    </Modal>
  );
}
