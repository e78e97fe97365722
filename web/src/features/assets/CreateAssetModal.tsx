import { Button, Checkbox, Group, Modal, Select, Stack, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { assetTypes, useCreateAsset, type AssetType } from './queries';
import { emptyValue, ValueFields, valueOf, type ValueDraft } from './ValueFields';

const SHOWN = ['name', 'description', 'type', 'value'] as const;

/** Creates an asset, with its global value when asked. States: editing → saving → closed, or back to editing with the refusal. */
export function CreateAssetModal(props: { opened: boolean; onClose: () => void }) {
  const create = useCreateAsset();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [type, setType] = useState<AssetType>('credential');
  const [withValue, setWithValue] = useState(true);
  const [value, setValue] = useState<ValueDraft>(emptyValue);
  const errors = fieldErrorsOf(create.error);
  const close = () => {
    create.reset();
    setName('');
    setDescription('');
    setValue(emptyValue);
    props.onClose();
  };
  const submit = () =>
    create.mutate(
      {
        name: name.trim(),
        description,
        type,
        ...(withValue ? { value: valueOf(type, value) } : {}),
      },
      { onSuccess: close },
    );

  return (
    <Modal opened={props.opened} onClose={close} title="Create an asset">
      <Stack>
        <TextInput
          label="Name"
          description="Letters, digits, _ - and . (processes ask for it by this name)"
          required
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={errorUnder(errors, 'name')}
        />
        <Textarea
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
          error={errorUnder(errors, 'description')}
        />
        <Select
          label="Type"
          data={assetTypes}
          allowDeselect={false}
          value={type}
          onChange={(next) => next && setType(next)}
          error={errorUnder(errors, 'type')}
        />
        <Checkbox
          label="Set the global value now"
          checked={withValue}
          onChange={(e) => setWithValue(e.currentTarget.checked)}
        />
        {withValue && <ValueFields type={type} draft={value} onChange={setValue} errors={errors} />}
        <RefusalAlert error={create.error} shown={SHOWN} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button onClick={submit} loading={create.isPending} disabled={!name.trim()}>
            Create
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
