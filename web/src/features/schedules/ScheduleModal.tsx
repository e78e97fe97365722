import {
  Button,
  Group,
  Modal,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  TextInput,
} from '@mantine/core';
import { useState } from 'react';
import { RefusalAlert } from '../../shell/refusal';
import { useGroups } from '../agents/queries';
import {
  useCreateSchedule,
  useActionChoices,
  useUpdateSchedule,
  type Schedule,
  type ScheduleBody,
  type ScheduleChanges,
  type ActionKind,
  type ScheduleAction,
} from './queries';
import { TimingPreview } from './TimingPreview';

type Timing = 'cron' | 'interval';
/** `kept`: a target the form cannot show (agent ids, an OS), left as it is. */
type TargetMode = 'all' | 'tags' | 'group' | 'kept';

interface Form {
  name: string;
  kind: ActionKind;
  actionId: string | null;
  timing: Timing;
  cron: string;
  timezone: string;
  interval: number | string;
  targetMode: TargetMode;
  tags: string[];
  groupId: string | null;
}

const ACTION_LABELS: Record<ActionKind, string> = {
  script: 'Script',
  command: 'Saved command',
  profile: 'Profile',
};

const blank: Form = {
  name: '',
  kind: 'script',
  actionId: null,
  timing: 'cron',
  cron: '',
  timezone: 'UTC',
  interval: 3600,
  targetMode: 'all',
  tags: [],
  groupId: null,
};

function targetModeOf(target: Schedule['target']): TargetMode {
  if (target.agent_ids?.length || target.os_type) return 'kept';
  if (target.tags?.length) return 'tags';
  if (target.group_id) return 'group';
  return 'all';
}

function actionIdOf(action: ScheduleAction): string {
  return action.kind === 'profile' ? action.profile_id : action.script_id;
}

function actionOf(kind: ActionKind, id: string): ScheduleAction {
  return kind === 'profile' ? { kind, profile_id: id } : { kind, script_id: id };
}

function formOf(schedule: Schedule): Form {
  return {
    name: schedule.name,
    kind: schedule.action.kind,
    actionId: actionIdOf(schedule.action),
    timing: schedule.cron ? 'cron' : 'interval',
    cron: schedule.cron ?? '',
    timezone: schedule.timezone ?? 'UTC',
    interval: schedule.interval_seconds ?? 3600,
    targetMode: targetModeOf(schedule.target),
    tags: schedule.target.tags ?? [],
    groupId: schedule.target.group_id ?? null,
  };
}

function targetOf(form: Form): ScheduleBody['target'] {
  if (form.targetMode === 'tags') return { tags: form.tags.map((tag) => tag.toLowerCase()) };
  if (form.targetMode === 'group') return { group_id: form.groupId ?? '' };
  return { all: true };
}

function timingOf(form: Form): Pick<ScheduleBody, 'cron' | 'timezone' | 'interval_seconds'> {
  if (form.timing === 'cron') return { cron: form.cron.trim(), timezone: form.timezone.trim() };
  return typeof form.interval === 'number' ? { interval_seconds: form.interval } : {};
}

/** Only what the form changed: an unchanged timing keeps the next fire where it is. */
function changesOf(form: Form, schedule: Schedule): ScheduleChanges {
  const changes: ScheduleChanges = {};
  const before = formOf(schedule);
  if (form.name.trim() !== schedule.name) changes.name = form.name.trim();
  if (form.actionId && (form.kind !== before.kind || form.actionId !== before.actionId))
    changes.action = actionOf(form.kind, form.actionId);
  const timingChanged =
    form.timing !== before.timing ||
    (form.timing === 'cron'
      ? form.cron.trim() !== before.cron || form.timezone.trim() !== before.timezone
      : form.interval !== before.interval);
  if (timingChanged) Object.assign(changes, timingOf(form));
  const targetChanged =
    form.targetMode !== before.targetMode ||
    form.tags.join() !== before.tags.join() ||
    form.groupId !== before.groupId;
  if (form.targetMode !== 'kept' && targetChanged) changes.target = targetOf(form);
  return changes;
}

/**
 * Creates a schedule of a library script, saved command or profile, or edits `schedule`; the timing's
 * preview shows as it is typed, and a refusal stays on the form with the server's reasons.
 */
export function ScheduleModal(props: { opened: boolean; onClose: () => void; schedule?: Schedule }) {
  const { schedule } = props;
  const [form, setForm] = useState<Form>(schedule ? formOf(schedule) : blank);
  const [search, setSearch] = useState('');
  const choices = useActionChoices(form.kind, search);
  const groups = useGroups();
  const create = useCreateSchedule();
  const update = useUpdateSchedule();
  const saving = schedule ? update : create;
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));

  const close = () => {
    props.onClose();
    create.reset();
    update.reset();
    setForm(schedule ? formOf(schedule) : blank);
    setSearch('');
  };
  const submit = () => {
    if (!form.actionId) return;
    if (schedule) {
      update.mutate({ id: schedule.id, changes: changesOf(form, schedule) }, { onSuccess: close });
      return;
    }
    create.mutate(
      {
        name: form.name.trim(),
        action: actionOf(form.kind, form.actionId),
        target: targetOf(form),
        ...timingOf(form),
      },
      { onSuccess: close },
    );
  };

  const ready =
    form.name.trim() !== '' &&
    form.actionId !== null &&
    (form.timing === 'cron' ? form.cron.trim() !== '' : typeof form.interval === 'number') &&
    (form.targetMode !== 'tags' || form.tags.length > 0) &&
    (form.targetMode !== 'group' || form.groupId !== null);
  const options = [...(choices.data ?? [])];
  if (form.actionId && !options.some((option) => option.value === form.actionId))
    options.unshift({ value: form.actionId, label: 'The current one' });

  return (
    <Modal
      opened={props.opened}
      onClose={close}
      title={schedule ? `Edit ${schedule.name}` : 'Create a schedule'}
      size="lg"
    >
      <Stack>
        <TextInput
          label="Name"
          required
          value={form.name}
          onChange={(e) => set('name', e.currentTarget.value)}
        />
        <SegmentedControl
          aria-label="Action"
          data={[
            { value: 'script', label: 'Script' },
            { value: 'command', label: 'Saved command' },
            { value: 'profile', label: 'Profile' },
          ]}
          value={form.kind}
          onChange={(value) => setForm((f) => ({ ...f, kind: value, actionId: null }))}
        />
        <Select
          label={ACTION_LABELS[form.kind]}
          required
          searchable
          searchValue={search}
          onSearchChange={setSearch}
          filter={({ options }) => options}
          data={options}
          value={form.actionId}
          onChange={(value) => set('actionId', value)}
          nothingFoundMessage="None found"
        />
        <SegmentedControl
          aria-label="Timing"
          data={[
            { value: 'cron', label: 'Cron' },
            { value: 'interval', label: 'Interval' },
          ]}
          value={form.timing}
          onChange={(value) => set('timing', value)}
        />
        {form.timing === 'cron' ? (
          <Group grow align="flex-start">
            <TextInput
              label="Cron expression"
              description="minute hour day-of-month month day-of-week, or @hourly, @daily…"
              value={form.cron}
              onChange={(e) => set('cron', e.currentTarget.value)}
            />
            <TextInput
              label="Time zone"
              description="IANA name"
              value={form.timezone}
              onChange={(e) => set('timezone', e.currentTarget.value)}
            />
          </Group>
        ) : (
          <NumberInput
            label="Every (seconds)"
            description="At least 60"
            allowDecimal={false}
            value={form.interval}
            onChange={(value) => set('interval', value)}
          />
        )}
        {form.timing === 'cron' && form.cron.trim() !== '' && (
          <TimingPreview timing={{ cron: form.cron, timezone: form.timezone.trim() || 'UTC' }} />
        )}
        {form.timing === 'interval' && typeof form.interval === 'number' && form.interval > 0 && (
          <TimingPreview timing={{ intervalSeconds: form.interval }} />
        )}
        <Select
          label="Target"
          allowDeselect={false}
          data={[
            { value: 'all', label: 'All agents' },
            { value: 'tags', label: 'Agents with tags' },
            { value: 'group', label: 'A group' },
            ...(form.targetMode === 'kept' || (schedule && targetModeOf(schedule.target) === 'kept')
              ? [{ value: 'kept', label: 'As set through the API (agents or an OS)' }]
              : []),
          ]}
          value={form.targetMode}
          onChange={(value) => value && set('targetMode', value as TargetMode)}
        />
        {form.targetMode === 'tags' && (
          <TagsInput label="Tags" value={form.tags} onChange={(value) => set('tags', value)} />
        )}
        {form.targetMode === 'group' && (
          <Select
            label="Group"
            data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
            value={form.groupId}
            onChange={(value) => set('groupId', value)}
          />
        )}
        <RefusalAlert error={saving.error} />
        <Group justify="flex-end">
          <Button onClick={submit} loading={saving.isPending} disabled={!ready}>
            {schedule ? 'Save' : 'Create'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
