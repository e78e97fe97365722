import { Button, Group, Stack, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { useUpdateProfile, type ProfileDetail, type ProfileKind } from './queries';

/** The name and description, saved together; the save is offered only once something changed. */
export function ProfileDetailsForm({ kind, profile }: { kind: ProfileKind; profile: ProfileDetail }) {
  const [name, setName] = useState(profile.name);
  const [description, setDescription] = useState(profile.description);
  const update = useUpdateProfile(kind, profile.id);
  const errors = fieldErrorsOf(update.error);
  const shown = ['name', 'description'];
  const changed = name !== profile.name || description !== profile.description;

  return (
    <Stack gap="xs">
      <TextInput
        label="Name"
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
      <RefusalAlert error={update.error} shown={shown} />
      {changed && (
        <Group justify="flex-end">
          <Button
            variant="default"
            onClick={() => {
              setName(profile.name);
              setDescription(profile.description);
              update.reset();
            }}
          >
            Discard
          </Button>
          <Button
            loading={update.isPending}
            disabled={!name.trim()}
            onClick={() => update.mutate({ name: name.trim(), description })}
          >
            Save details
          </Button>
        </Group>
      )}
    </Stack>
  );
}
