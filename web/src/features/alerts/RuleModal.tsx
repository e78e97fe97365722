import {
  Alert,
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  Select,
  Stack,
  Switch,
  TagsInput,
  TextInput,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import {
  useChannels,
  useSaveRule,
  type Rule,
  type RuleBody,
  type RuleKind,
  type RuleParams,
} from './queries';

export const KIND_LABELS: Record<RuleKind, string> = {
  agent_offline: 'Agent offline',
  metric_above: 'Metric above a threshold',
  job_failed: 'Job failed',
  run_failure_rate: 'Run failure rate',
  deployment_failed: 'Deployment failed',
  queue_backlog: 'Queue backlog',
};

type Entity = 'scripts' | 'profiles' | 'schedules' | 'services' | 'queues';

/** The first 200 of an entity, as choices by name. */
function useChoices(entity: Entity, enabled: boolean) {
  return useQuery({
    queryKey: ['alerts', 'choices', entity],
    enabled,
    queryFn: async (): Promise<{ value: string; label: string }[]> => {
      const query = { params: { query: { limit: 200 } } };
      const named = (page: { items: { id: string; name: string }[] }) =>
        page.items.map((item) => ({ value: item.id, label: item.name }));
      switch (entity) {
        case 'scripts':
          return named(await api((c) => c.GET('/api/v1/scripts', query)));
        case 'profiles':
          return named(await api((c) => c.GET('/api/v1/profiles', query)));
        case 'schedules':
          return named(await api((c) => c.GET('/api/v1/schedules', query)));
        case 'services':
          return named(await api((c) => c.GET('/api/v1/services', query)));
        case 'queues':
          return named(await api((c) => c.GET('/api/v1/queues', query)));
      }
    },
  });
}

function EntitySelect(props: {
  entity: Entity;
  label: string;
  value: string | undefined;
  onChange: (id: string | undefined) => void;
  required?: boolean;
}) {
  const choices = useChoices(props.entity, true);
  return (
    <Select
      label={props.label}
      required={props.required}
      clearable
      searchable
      data={choices.data ?? []}
      value={props.value ?? null}
      onChange={(id) => props.onChange(id ?? undefined)}
    />
  );
}

/** The agents a rule watches: some tags, or every agent. */
function SelectorFields(props: { params: RuleParams; set: (changes: Partial<RuleParams>) => void }) {
  const selector = props.params.selector ?? { all: true };
  const all = selector.all === true;
  return (
    <>
      <Switch
        label="Every agent"
        checked={all}
        onChange={(e) => props.set({ selector: e.currentTarget.checked ? { all: true } : { tags: [] } })}
      />
      {!all && (
        <TagsInput
          label="Agents with these tags"
          value={selector.tags ?? []}
          onChange={(tags) => props.set({ selector: { tags } })}
        />
      )}
    </>
  );
}

function Minutes(props: { params: RuleParams; set: (changes: Partial<RuleParams>) => void }) {
  return (
    <NumberInput
      label="For minutes"
      min={1}
      required
      value={props.params.minutes ?? ''}
      onChange={(v) => props.set({ minutes: typeof v === 'number' ? v : undefined })}
    />
  );
}

/** The fields of one kind of rule. */
function KindFields(props: {
  kind: RuleKind;
  params: RuleParams;
  set: (changes: Partial<RuleParams>) => void;
}) {
  const { params, set } = props;
  const number = (name: keyof RuleParams) => (v: string | number) =>
    set({ [name]: typeof v === 'number' ? v : undefined });
  switch (props.kind) {
    case 'agent_offline':
      return (
        <>
          <SelectorFields params={params} set={set} />
          <Minutes params={params} set={set} />
        </>
      );
    case 'metric_above':
      return (
        <>
          <SelectorFields params={params} set={set} />
          <Select
            label="Metric"
            required
            data={['cpu_percent', 'memory_percent', 'disk_percent']}
            value={params.metric ?? null}
            onChange={(metric) => set({ metric: metric ?? undefined })}
          />
          <NumberInput
            label="Above (%)"
            min={0}
            max={100}
            required
            value={params.threshold ?? ''}
            onChange={number('threshold')}
          />
          <Minutes params={params} set={set} />
        </>
      );
    case 'job_failed':
      return (
        <>
          <EntitySelect
            entity="scripts"
            label="Script"
            value={params.script_id}
            onChange={(id) => set({ script_id: id, profile_id: undefined, schedule_id: undefined })}
          />
          <EntitySelect
            entity="profiles"
            label="or profile"
            value={params.profile_id}
            onChange={(id) => set({ profile_id: id, script_id: undefined, schedule_id: undefined })}
          />
          <EntitySelect
            entity="schedules"
            label="or schedule"
            value={params.schedule_id}
            onChange={(id) => set({ schedule_id: id, script_id: undefined, profile_id: undefined })}
          />
        </>
      );
    case 'run_failure_rate':
      return (
        <>
          <NumberInput
            label="Failure rate at or above (%)"
            min={1}
            max={100}
            required
            value={params.percent ?? ''}
            onChange={number('percent')}
          />
          <NumberInput
            label="Over the last runs"
            min={1}
            value={params.last_runs ?? ''}
            onChange={number('last_runs')}
          />
        </>
      );
    case 'deployment_failed':
      return (
        <EntitySelect
          entity="services"
          label="Service (any when empty)"
          value={params.service_id}
          onChange={(id) => set({ service_id: id })}
        />
      );
    case 'queue_backlog':
      return (
        <>
          <EntitySelect
            entity="queues"
            label="Queue"
            required
            value={params.queue_id}
            onChange={(id) => set({ queue_id: id })}
          />
          <NumberInput
            label="More than items waiting"
            min={0}
            required
            value={params.items ?? ''}
            onChange={number('items')}
          />
        </>
      );
  }
}

/** Only the parameters the kind takes, so a kind switched to leaves no stray field (422). */
function cleaned(params: RuleParams): RuleParams {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

export function RuleModal(props: { rule?: Rule; opened: boolean; onClose: () => void }) {
  const { rule } = props;
  const save = useSaveRule(rule?.id);
  const channels = useChannels(undefined, 200);
  const [name, setName] = useState(rule?.name ?? '');
  const [kind, setKind] = useState<RuleKind>(rule?.kind ?? 'agent_offline');
  const [params, setParams] = useState<RuleParams>(rule?.params ?? { selector: { all: true }, minutes: 5 });
  const [severity, setSeverity] = useState<RuleBody['severity']>(rule?.severity ?? 'warning');
  const [channelIds, setChannelIds] = useState<string[]>(rule?.channel_ids ?? []);
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const close = () => {
    props.onClose();
    save.reset();
  };
  const submit = () =>
    save.mutate(
      { name: name.trim(), kind, params: cleaned(params), severity, channel_ids: channelIds, enabled },
      { onSuccess: close },
    );
  return (
    <Modal
      opened={props.opened}
      onClose={close}
      title={rule ? 'Edit alert rule' : 'New alert rule'}
      size="lg"
    >
      <Stack>
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <Select
          label="Kind"
          required
          data={Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }))}
          value={kind}
          onChange={(value) => {
            if (!value) return;
            setKind(value as RuleKind);
            setParams(
              value === 'agent_offline' || value === 'metric_above' ? { selector: { all: true } } : {},
            );
          }}
          allowDeselect={false}
        />
        <KindFields kind={kind} params={params} set={(changes) => setParams((p) => ({ ...p, ...changes }))} />
        <Select
          label="Severity"
          data={['info', 'warning', 'critical']}
          value={severity ?? 'warning'}
          onChange={(value) => setSeverity(value ?? 'warning')}
          allowDeselect={false}
        />
        <MultiSelect
          label="Notify"
          placeholder="Channels"
          data={(channels.data?.items ?? []).map((c) => ({ value: c.id, label: `${c.name} (${c.kind})` }))}
          value={channelIds}
          onChange={setChannelIds}
        />
        <Switch label="Enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        {save.error && <Alert color="red">{save.error.message}</Alert>}
        <Group justify="flex-end">
          <Button loading={save.isPending} disabled={!name.trim()} onClick={submit}>
            {rule ? 'Save' : 'Create rule'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
