import { Alert, Button, Group, Modal, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import {
  useAsset,
  useDeleteRobotValue,
  useRobotChoices,
  useSetAssetValue,
  type AssetDetail,
} from './queries';
import { emptyValue, ValueFields, valueOf, type ValueDraft } from './ValueFields';

function when(value: string): string {
  return new Date(value).toLocaleString();
}

/** One value form: the global value (no robot) or a robot's, picked from the organisation's robots. */
function SetValueForm(props: { asset: AssetDetail; perRobot: boolean }) {
  const { asset, perRobot } = props;
  const setValue = useSetAssetValue(asset.id);
  const robots = useRobotChoices(perRobot);
  const [robotId, setRobotId] = useState<string | null>(null);
  const [draft, setDraft] = useState<ValueDraft>(emptyValue);
  const errors = fieldErrorsOf(setValue.error);
  const submit = () =>
    setValue.mutate(
      { robotId: perRobot ? robotId : null, value: valueOf(asset.type, draft) },
      {
        onSuccess: () => {
          setDraft(emptyValue);
          setValue.reset();
        },
      },
    );
  return (
    <Stack gap="xs">
      {perRobot && (
        <Select
          label="Robot"
          placeholder="Pick a robot"
          searchable
          data={(robots.data?.items ?? []).map((robot) => ({ value: robot.id, label: robot.name }))}
          value={robotId}
          onChange={setRobotId}
        />
      )}
      <ValueFields type={asset.type} draft={draft} onChange={setDraft} errors={errors} />
      <RefusalAlert error={setValue.error} shown={['value']} />
      <Group justify="flex-end">
        <Button size="xs" onClick={submit} loading={setValue.isPending} disabled={perRobot && !robotId}>
          {perRobot ? 'Set robot value' : 'Set global value'}
        </Button>
      </Group>
    </Stack>
  );
}

/** An asset's values: whether each exists (and a credential's username), never what it is. */
export function AssetValuesModal(props: { assetId: string | null; canUpdate: boolean; onClose: () => void }) {
  const asset = useAsset(props.assetId);
  const removeValue = useDeleteRobotValue(props.assetId ?? '');
  const robots = useRobotChoices(props.assetId !== null);
  const robotName = new Map((robots.data?.items ?? []).map((robot) => [robot.id, robot.name]));
  const detail = asset.data;
  const confirmRemove = (robotId: string) =>
    confirmDestructive({
      title: 'Delete this robot value?',
      body: 'The robot falls back to the global value.',
      confirm: 'Delete',
      run: () => removeValue.mutateAsync(robotId),
    });

  return (
    <Modal
      opened={props.assetId !== null}
      onClose={props.onClose}
      title={detail ? `Values of ${detail.name}` : 'Values'}
      size="lg"
    >
      {asset.error && <Alert color="red">{asset.error.message}</Alert>}
      {detail && (
        <Stack>
          <Text size="sm" c="dimmed">
            Values are stored encrypted and never shown again; set a new one to change it.
          </Text>
          <Title order={5}>Global value</Title>
          <Text size="sm" data-testid="global-value">
            {detail.global_value
              ? `Set ${when(detail.global_value.updated_at)}${detail.global_value.username ? ` (username ${detail.global_value.username})` : ''}`
              : 'Not set'}
          </Text>
          {props.canUpdate && <SetValueForm asset={detail} perRobot={false} />}
          <Title order={5}>Robot values</Title>
          {detail.robot_values.length === 0 ? (
            <Text size="sm">No robot has a value of its own.</Text>
          ) : (
            <Table>
              <Table.Tbody>
                {detail.robot_values.map((value) => (
                  <Table.Tr key={value.robot_id} data-testid="robot-value-row">
                    <Table.Td>{robotName.get(value.robot_id ?? '') ?? value.robot_id}</Table.Td>
                    <Table.Td>{value.username ?? ''}</Table.Td>
                    <Table.Td>{when(value.updated_at)}</Table.Td>
                    <Table.Td>
                      {props.canUpdate && value.robot_id && (
                        <Button
                          size="xs"
                          color="red"
                          variant="light"
                          onClick={() => confirmRemove(value.robot_id ?? '')}
                        >
                          Delete
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          {props.canUpdate && <SetValueForm asset={detail} perRobot />}
        </Stack>
      )}
    </Modal>
  );
}
