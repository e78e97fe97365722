import { Button, Group, Stack } from '@mantine/core';
import { useState } from 'react';
import { NameAndDescription } from './NameAndDescription';
import { useUpdateProfile, type ProfileDetail, type ProfileKind } from './queries';

/** The name and description, saved together; the save is offered only once something changed. */
export function ProfileDetailsForm({ kind, profile }: { kind: ProfileKind; profile: ProfileDetail }) {
  const [name, setName] = useState(profile.name);
  const [description, setDescription] = useState(profile.description);
  const update = useUpdateProfile(kind, profile.id);
  const changed = name !== profile.name || description !== profile.description;

  return (
    <Stack gap="xs">
      <NameAndDescription
        name={name}
        description={description}
        onName={setName}
        onDescription={setDescription}
        error={update.error}
      />
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
