import { Button, Group, Select, Stack } from '@mantine/core';
import { useState } from 'react';
import { OS_TYPES } from '../agents/queries';
import { NameAndDescription } from './NameAndDescription';
import { useUpdateProfile, type ProfileDetail, type ProfileKind } from './queries';

/** The name and description, saved together; the save is offered only once something changed. */
export function ProfileDetailsForm({ kind, profile }: { kind: ProfileKind; profile: ProfileDetail }) {
  const [name, setName] = useState(profile.name);
  const [description, setDescription] = useState(profile.description);
  const [targetOs, setTargetOs] = useState(profile.target_os_type);
  const update = useUpdateProfile(kind, profile.id);
  const changed =
    name !== profile.name || description !== profile.description || targetOs !== profile.target_os_type;

  return (
    <Stack gap="xs">
      <NameAndDescription
        name={name}
        description={description}
        onName={setName}
        onDescription={setDescription}
        error={update.error}
      />
      <Select
        label="Target OS"
        description="Applying it to an agent of another OS is refused"
        placeholder="Any OS"
        clearable
        data={OS_TYPES}
        value={targetOs}
        onChange={setTargetOs}
      />
      {changed && (
        <Group justify="flex-end">
          <Button
            variant="default"
            onClick={() => {
              setName(profile.name);
              setDescription(profile.description);
              setTargetOs(profile.target_os_type);
              update.reset();
            }}
          >
            Discard
          </Button>
          <Button
            loading={update.isPending}
            disabled={!name.trim()}
            onClick={() => update.mutate({ name: name.trim(), description, target_os_type: targetOs })}
          >
            Save details
          </Button>
        </Group>
      )}
    </Stack>
  );
}
