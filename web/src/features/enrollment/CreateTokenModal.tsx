import { Alert, Button, Group, Modal, NumberInput, Select, Stack, TagsInput, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useGroups } from '../agents/queries';
import { EnrollCommands } from './EnrollCommands';
import { useCreateEnrollmentToken, type EnrollmentTokenBody } from './queries';
import { ShownOnce } from '../../shell/ShownOnce';

const HOUR_MS = 3_600_000;
const expiries = [
  { value: 'never', label: 'Never' },
  { value: String(HOUR_MS), label: 'In 1 hour' },
  { value: String(24 * HOUR_MS), label: 'In 1 day' },
  { value: String(7 * 24 * HOUR_MS), label: 'In 7 days' },
  { value: String(30 * 24 * HOUR_MS), label: 'In 30 days' },
];

/**
 * States: form → created (the secret and its commands, shown this once) → closed, which forgets
 * the secret; a refused creation stays on the form with the server's message.
 */
export function CreateTokenModal(props: { opened: boolean; onClose: () => void }) {
  const [name, setName] = useState('');
  const [tags, setTags] = useState<string[]>([]);
  const [groupId, setGroupId] = useState<string | null>(null);
  const [expiry, setExpiry] = useState('never');
  const [maxUses, setMaxUses] = useState<number | string>('');
  const groups = useGroups();
  const create = useCreateEnrollmentToken();

  const close = () => {
    props.onClose();
    create.reset();
    setName('');
    setTags([]);
    setGroupId(null);
    setExpiry('never');
    setMaxUses('');
  };
  const submit = () => {
    const body: EnrollmentTokenBody = { name: name.trim(), tags: tags.map((tag) => tag.toLowerCase()) };
    if (groupId) body.group_id = groupId;
    if (expiry !== 'never') body.expires_at = new Date(Date.now() + Number(expiry)).toISOString();
    if (typeof maxUses === 'number') body.max_uses = maxUses;
    create.mutate(body);
  };

  const created = create.data;
  return (
    <Modal opened={props.opened} onClose={close} title="Create an enrollment token" size="lg">
      {created ? (
        <ShownOnce
          what="token"
          name={created.enrollment_token.name}
          secret={created.secret}
          testId="enrollment-secret"
          onDone={close}
        >
          <EnrollCommands token={created.secret} />
        </ShownOnce>
      ) : (
        <Stack>
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TagsInput
            label="Tags"
            description="Given to every agent that enrolls with the token"
            value={tags}
            onChange={setTags}
          />
          <Select
            label="Group"
            placeholder="No group"
            clearable
            data={(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }))}
            value={groupId}
            onChange={setGroupId}
          />
          <Select
            label="Expires"
            data={expiries}
            value={expiry}
            onChange={(value) => value && setExpiry(value)}
            allowDeselect={false}
          />
          <NumberInput
            label="Uses"
            description="How many machines may enroll with it; empty for no limit"
            min={1}
            max={1_000_000}
            allowDecimal={false}
            value={maxUses}
            onChange={setMaxUses}
          />
          {create.error && <Alert color="red">{create.error.message}</Alert>}
          <Group justify="flex-end">
            <Button onClick={submit} loading={create.isPending} disabled={!name.trim()}>
              Create
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
