import {
  Alert,
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
import { ApiError } from '../../api/client';
import { useGroups } from '../agents/queries';
import { useCreateSchedule, useScriptChoices, type ScheduleBody, type ScriptKind } from './queries';

type Timing = 'cron' | 'interval';
type TargetMode = 'all' | 'tags' | 'group';

const initial = {
  name: '',
  kind: 'script' as ScriptKind,
  scriptId: null as string | null,
  timing: 'cron' as Timing,
  cron: '',
  timezone: 'UTC',
  interval: 3600 as number | string,
  targetMode: 'all' as TargetMode,
  tags: [] as string[],
  groupId: null as string | null,
};

/** A schedule of a library script or saved command on a target set; a refusal stays on the form. */
export function CreateScheduleModal(props: { opened: boolean; onClose: () => void }) {
  const [form, setForm] = useState(initial);
  const [search, setSearch] = useState('');
  const scripts = useScriptChoices(form.kind, search);
  const groups = useGroups();
  const create = useCreateSchedule();
  const set = <K extends keyof typeof initial>(key: K, value: (typeof initial)[K]) =>
    setForm((f) => ({ ...f, [key]: value }));

  const close = () => {
    props.onClose();
    create.reset();
    setForm(initial);
    setSearch('');
  };
  const submit = () => {
    if (!form.scriptId) return;
    const target: ScheduleBody['target'] =
      form.targetMode === 'all'
        ? { all: true }
        : form.targetMode === 'tags'
          ? { tags: form.tags.map((tag) => tag.toLowerCase()) }
          : { group_id: form.groupId ?? '' };
    const body: ScheduleBody = {
      name: form.name.trim(),
      action: { kind: form.kind, script_id: form.scriptId },
      target,
    };
    if (form.timing === 'cron') {
      body.cron = form.cron.trim();
      body.timezone = form.timezone.trim();
    } else if (typeof form.interval === 'number') body.interval_seconds = form.interval;
    create.mutate(body, { onSuccess: close });
  };

  const ready =
    form.name.trim() !== '' &&
    form.scriptId !== null &&
    (form.timing === 'cron' ? form.cron.trim() !== '' : typeof form.interval === 'number') &&
    (form.targetMode !== 'tags' || form.tags.length > 0) &&
    (form.targetMode !== 'group' || form.groupId !== null);

  return (
    <Modal opened={props.opened} onClose={close} title="Create a schedule" size="lg">
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
          ]}
          value={form.kind}
          onChange={(value) => setForm((f) => ({ ...f, kind: value, scriptId: null }))}
        />
        <Select
          label={form.kind === 'script' ? 'Script' : 'Saved command'}
          required
          searchable
          searchValue={search}
          onSearchChange={setSearch}
          filter={({ options }) => options}
          data={(scripts.data?.items ?? []).map((script) => ({ value: script.id, label: script.name }))}
          value={form.scriptId}
          onChange={(value) => set('scriptId', value)}
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
          <Group grow>
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
        <Select
          label="Target"
          allowDeselect={false}
          data={[
            { value: 'all', label: 'All agents' },
            { value: 'tags', label: 'Agents with tags' },
            { value: 'group', label: 'A group' },
          ]}
          value={form.targetMode}
          onChange={(value) => value && set('targetMode', value)}
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
        {create.error && (
          <Alert color="red">
            {create.error.message}
            {create.error instanceof ApiError &&
              create.error.details.map((detail) => (
                <div key={`${detail.field ?? ''}${detail.message}`}>
                  {detail.field ? `${detail.field}: ` : ''}
                  {detail.message}
                </div>
              ))}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button onClick={submit} loading={create.isPending} disabled={!ready}>
            Create
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
