import { Alert, Button, Group, Modal, MultiSelect, Stack, Switch, TextInput } from '@mantine/core';
import { useState } from 'react';
import { ShownOnce } from '../../shell/ShownOnce';
import { useCreateWebhook, useEventTypes, useUpdateWebhook, type Webhook } from './queries';

/** The event picker: every event, each family (`job.*`), or all of them (`*`). */
function eventChoices(types: readonly string[]): { group: string; items: string[] }[] {
  const families = [...new Set(types.map((type) => `${type.split('.')[0]}.*`))];
  return [
    { group: 'Events', items: [...types] },
    { group: 'Patterns', items: ['*', ...families] },
  ];
}

function WebhookFields(props: {
  initial?: Webhook;
  pending: boolean;
  error: Error | null;
  submitLabel: string;
  onSubmit: (body: { url: string; description: string; events: string[]; enabled: boolean }) => void;
}) {
  const [url, setUrl] = useState(props.initial?.url ?? '');
  const [description, setDescription] = useState(props.initial?.description ?? '');
  const [events, setEvents] = useState<string[]>(props.initial?.events ?? []);
  const [enabled, setEnabled] = useState(props.initial?.enabled ?? true);
  const types = useEventTypes();
  return (
    <Stack>
      <TextInput
        label="Payload URL"
        placeholder="https://ci.example.com/hooks/fleetplane"
        required
        value={url}
        onChange={(e) => setUrl(e.currentTarget.value)}
      />
      <TextInput
        label="Description"
        value={description}
        onChange={(e) => setDescription(e.currentTarget.value)}
      />
      <MultiSelect
        label="Events"
        description="Pick events, or a pattern such as job.* for a family"
        required
        searchable
        data={eventChoices(types.data?.items ?? [])}
        value={events}
        onChange={setEvents}
        data-testid="webhook-events"
      />
      <Switch label="Enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
      {props.error && <Alert color="red">{props.error.message}</Alert>}
      <Group justify="flex-end">
        <Button
          loading={props.pending}
          disabled={!url.trim() || events.length === 0}
          onClick={() => props.onSubmit({ url: url.trim(), description, events, enabled })}
        >
          {props.submitLabel}
        </Button>
      </Group>
    </Stack>
  );
}

/** States: form → created (the signing secret, shown this once) → closed, which forgets it. */
export function CreateWebhookModal(props: { opened: boolean; onClose: () => void }) {
  const create = useCreateWebhook();
  const close = () => {
    props.onClose();
    create.reset();
  };
  const created = create.data;
  return (
    <Modal opened={props.opened} onClose={close} title="Add a webhook" size="lg">
      {created ? (
        <ShownOnce
          what="signing secret of"
          name={created.webhook.url}
          secret={created.secret}
          testId="webhook-secret"
          onDone={close}
        />
      ) : (
        <WebhookFields
          pending={create.isPending}
          error={create.error}
          submitLabel="Add webhook"
          onSubmit={(body) => create.mutate(body)}
        />
      )}
    </Modal>
  );
}

export function EditWebhookModal(props: { webhook: Webhook; opened: boolean; onClose: () => void }) {
  const update = useUpdateWebhook(props.webhook.id);
  const close = () => {
    props.onClose();
    update.reset();
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Edit webhook" size="lg">
      <WebhookFields
        initial={props.webhook}
        pending={update.isPending}
        error={update.error}
        submitLabel="Save"
        onSubmit={(body) => update.mutate(body, { onSuccess: close })}
      />
    </Modal>
  );
}
