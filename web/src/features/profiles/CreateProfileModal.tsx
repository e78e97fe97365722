import { Button, Group, Modal, Stack, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { pageOf, useCreateProfile, type ProfileKind } from './queries';

/** A new, empty profile or template; its page follows, where tasks are added. */
export function CreateProfileModal(props: { kind: ProfileKind; opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const create = useCreateProfile(props.kind);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const errors = fieldErrorsOf(create.error);
  const shown = ['name', 'description'];

  const close = () => {
    props.onClose();
    create.reset();
    setName('');
    setDescription('');
  };
  const submit = () =>
    create.mutate(
      { name: name.trim(), description },
      {
        onSuccess: (created) => {
          close();
          void navigate(pageOf(props.kind, created.id));
        },
      },
    );
  return (
    <Modal opened={props.opened} onClose={close} title={`Create a ${props.kind}`}>
      <Stack>
        <TextInput
          label="Name"
          required
          data-autofocus
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={errorUnder(errors, 'name')}
        />
        <Textarea
          label="Description"
          autosize
          minRows={2}
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
          error={errorUnder(errors, 'description')}
        />
        <RefusalAlert error={create.error} shown={shown} />
        <Group justify="flex-end">
          <Button onClick={submit} loading={create.isPending} disabled={!name.trim()}>
            Create
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
