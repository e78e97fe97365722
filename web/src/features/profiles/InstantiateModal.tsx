import { Button, Group, Modal, Stack, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { pageOf, useInstantiateTemplate, type ProfileDetail } from './queries';

/** Copies a template and its tasks into a new profile, then opens that profile's page. */
export function InstantiateModal(props: { template: ProfileDetail; opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const instantiate = useInstantiateTemplate();
  const [name, setName] = useState(props.template.name);
  const errors = fieldErrorsOf(instantiate.error);
  const shown = ['name'];

  const close = () => {
    props.onClose();
    instantiate.reset();
  };
  const submit = () =>
    instantiate.mutate(
      { id: props.template.id, name },
      { onSuccess: (profile) => void navigate(pageOf('profile', profile.id)) },
    );
  return (
    <Modal opened={props.opened} onClose={close} title="Create a profile from this template">
      <Stack>
        <TextInput
          label="Profile name"
          description="Profile names are unique; the template's name when empty"
          data-autofocus
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={errorUnder(errors, 'name')}
        />
        <RefusalAlert error={instantiate.error} shown={shown} />
        <Group justify="flex-end">
          <Button onClick={submit} loading={instantiate.isPending}>
            Create profile
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
