import { Button, Group, Modal, Stack } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { NameAndDescription } from './NameAndDescription';
import { pageOf, useCreateProfile, type ProfileKind } from './queries';

/** A new, empty profile or template; its page follows, where tasks are added. */
export function CreateProfileModal(props: { kind: ProfileKind; opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const create = useCreateProfile(props.kind);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

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
        <NameAndDescription
          name={name}
          description={description}
          onName={setName}
          onDescription={setDescription}
          error={create.error}
          autoFocus
        />
        <Group justify="flex-end">
          <Button onClick={submit} loading={create.isPending} disabled={!name.trim()}>
            Create
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
