import { Alert, Button, Group, Modal, Select, Stack, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useRoles } from '../access/queries';
import { useCreateApiKey, type ApiKeyBody } from './queries';
import { ShownOnce } from '../../shell/ShownOnce';

const DAY_MS = 86_400_000;
const expiries = [
  { value: 'never', label: 'Never' },
  { value: String(7 * DAY_MS), label: 'In 7 days' },
  { value: String(30 * DAY_MS), label: 'In 30 days' },
  { value: String(90 * DAY_MS), label: 'In 90 days' },
  { value: String(365 * DAY_MS), label: 'In 1 year' },
];

/**
 * States: form → created (the key, shown this once) → closed, which forgets the key; a refused
 * creation stays on the form with the server's message.
 */
export function CreateApiKeyModal(props: { opened: boolean; onClose: () => void }) {
  const [name, setName] = useState('');
  const [roleId, setRoleId] = useState<string | null>(null);
  const [expiry, setExpiry] = useState('never');
  const roles = useRoles();
  const create = useCreateApiKey();

  const close = () => {
    props.onClose();
    create.reset();
    setName('');
    setRoleId(null);
    setExpiry('never');
  };
  const submit = () => {
    if (!roleId) return;
    const body: ApiKeyBody = { name: name.trim(), role_id: roleId };
    if (expiry !== 'never') body.expires_at = new Date(Date.now() + Number(expiry)).toISOString();
    create.mutate(body);
  };

  const created = create.data;
  return (
    <Modal opened={props.opened} onClose={close} title="Create an API key" size="lg">
      {created ? (
        <ShownOnce
          what="key"
          name={created.key.name}
          secret={created.secret}
          testId="api-key-secret"
          onDone={close}
        />
      ) : (
        <Stack>
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select
            label="Role"
            description="The key acts with this role's permissions"
            required
            data={(roles.data?.items ?? []).map((role) => ({ value: role.id, label: role.name }))}
            value={roleId}
            onChange={setRoleId}
          />
          <Select
            label="Expires"
            data={expiries}
            value={expiry}
            onChange={(value) => value && setExpiry(value)}
            allowDeselect={false}
          />
          {create.error && <Alert color="red">{create.error.message}</Alert>}
          <Group justify="flex-end">
            <Button onClick={submit} loading={create.isPending} disabled={!name.trim() || !roleId}>
              Create
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
