import { Button, Group, Modal, NumberInput, Stack, Switch, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import {
  useCreateQueue,
  useUpdateQueue,
  type Queue,
  type QueueCreateBody,
  type QueueUpdateBody,
} from './queries';

interface QueueDraft {
  name: string;
  description: string;
  maxRetries: number | string;
  deadlineMinutes: number | string;
  slaMinutes: number | string;
  itemTimeoutSeconds: number | string;
  uniqueReferences: boolean;
  active: boolean;
  triggerProcessId: string;
  triggerMaxJobs: number | string;
}

function draftOf(queue: Queue | undefined): QueueDraft {
  return {
    name: queue?.name ?? '',
    description: queue?.description ?? '',
    maxRetries: queue?.max_retries ?? 0,
    deadlineMinutes: queue?.deadline_minutes ?? '',
    slaMinutes: queue?.sla_minutes ?? '',
    itemTimeoutSeconds: queue?.item_timeout_seconds ?? 3600,
    uniqueReferences: queue?.unique_references ?? false,
    active: queue?.active ?? true,
    triggerProcessId: queue?.trigger_process_id ?? '',
    triggerMaxJobs: queue?.trigger_max_jobs ?? 1,
  };
}

/** An empty number input is "none": null on a change, left out on a create. */
const optional = (value: number | string): number | null => (value === '' ? null : Number(value));

function changesOf(draft: QueueDraft): QueueUpdateBody {
  return {
    name: draft.name.trim(),
    description: draft.description,
    max_retries: Number(draft.maxRetries),
    item_timeout_seconds: Number(draft.itemTimeoutSeconds),
    unique_references: draft.uniqueReferences,
    active: draft.active,
    trigger_max_jobs: Number(draft.triggerMaxJobs),
    deadline_minutes: optional(draft.deadlineMinutes),
    sla_minutes: optional(draft.slaMinutes),
    trigger_process_id: draft.triggerProcessId.trim() || null,
  };
}

function creationOf(draft: QueueDraft): QueueCreateBody {
  const { deadline_minutes, sla_minutes, trigger_process_id, ...rest } = changesOf(draft);
  const body: QueueCreateBody = { ...rest, name: draft.name.trim() };
  if (deadline_minutes != null) body.deadline_minutes = deadline_minutes;
  if (sla_minutes != null) body.sla_minutes = sla_minutes;
  if (trigger_process_id != null) body.trigger_process_id = trigger_process_id;
  return body;
}

/**
 * Creates a queue, or changes one when `queue` is given. States: editing → saving → closed (saved),
 * or back to editing with the server's refusal under the fields it names.
 */
export function QueueModal(props: { opened: boolean; queue?: Queue; onClose: () => void }) {
  const { queue } = props;
  const create = useCreateQueue();
  const update = useUpdateQueue(queue?.id ?? '');
  const save = queue ? update : create;
  const [draft, setDraft] = useState(() => draftOf(queue));
  const set = <K extends keyof QueueDraft>(key: K, value: QueueDraft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const errors = fieldErrorsOf(save.error);
  const close = () => {
    save.reset();
    setDraft(draftOf(queue));
    props.onClose();
  };
  const submit = () =>
    queue
      ? update.mutate(changesOf(draft), { onSuccess: close })
      : create.mutate(creationOf(draft), { onSuccess: close });

  return (
    <Modal
      opened={props.opened}
      onClose={close}
      title={queue ? `Edit ${queue.name}` : 'Create a queue'}
      size="lg"
    >
      <Stack>
        <RefusalAlert
          error={save.error}
          shown={[
            'name',
            'description',
            'max_retries',
            'deadline_minutes',
            'sla_minutes',
            'item_timeout_seconds',
          ]}
        />
        <TextInput
          label="Name"
          required
          value={draft.name}
          onChange={(e) => set('name', e.currentTarget.value)}
          error={errorUnder(errors, 'name')}
        />
        <Textarea
          label="Description"
          value={draft.description}
          onChange={(e) => set('description', e.currentTarget.value)}
          error={errorUnder(errors, 'description')}
        />
        <Group grow>
          <NumberInput
            label="Max retries"
            description="Of an item failed by an application error"
            min={0}
            max={20}
            value={draft.maxRetries}
            onChange={(v) => set('maxRetries', v)}
            error={errorUnder(errors, 'max_retries')}
          />
          <NumberInput
            label="Item timeout (s)"
            description="In progress longer: abandoned"
            min={1}
            value={draft.itemTimeoutSeconds}
            onChange={(v) => set('itemTimeoutSeconds', v)}
            error={errorUnder(errors, 'item_timeout_seconds')}
          />
        </Group>
        <Group grow>
          <NumberInput
            label="Default deadline (min)"
            description="Empty: none"
            min={1}
            value={draft.deadlineMinutes}
            onChange={(v) => set('deadlineMinutes', v)}
            error={errorUnder(errors, 'deadline_minutes')}
          />
          <NumberInput
            label="SLA (min)"
            description="Empty: none"
            min={1}
            value={draft.slaMinutes}
            onChange={(v) => set('slaMinutes', v)}
            error={errorUnder(errors, 'sla_minutes')}
          />
        </Group>
        <Group grow>
          <TextInput
            label="Trigger process id"
            description="Started while items wait; empty: none"
            value={draft.triggerProcessId}
            onChange={(e) => set('triggerProcessId', e.currentTarget.value)}
            error={errorUnder(errors, 'trigger_process_id')}
          />
          <NumberInput
            label="Trigger max jobs"
            min={1}
            max={100}
            value={draft.triggerMaxJobs}
            onChange={(v) => set('triggerMaxJobs', v)}
            error={errorUnder(errors, 'trigger_max_jobs')}
          />
        </Group>
        <Switch
          label="Unique references"
          checked={draft.uniqueReferences}
          onChange={(e) => set('uniqueReferences', e.currentTarget.checked)}
        />
        <Switch
          label="Active"
          checked={draft.active}
          onChange={(e) => set('active', e.currentTarget.checked)}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button onClick={submit} loading={save.isPending} disabled={draft.name.trim() === ''}>
            {queue ? 'Save' : 'Create'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
