import { Button, Group, Modal, SegmentedControl, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import type { Script } from '../scripts/queries';
import { type Proposal, type SaveBody, useSaveProposal } from './queries';

type Kind = NonNullable<SaveBody['kind']>;
type Parameter = NonNullable<SaveBody['parameters']>[number];

/** The name rule of script parameters: the model's other names cannot be saved. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The model's assumed parameters as the script keeps them: strings whose defaults are the values
 * it assumed. Sent explicitly so that what the modal shows is exactly what is saved.
 */
function parametersOf(proposal: Proposal): { kept: Parameter[]; dropped: string[] } {
  const valid = proposal.parameters.filter((p) => IDENTIFIER.test(p.name));
  return {
    kept: valid.map((p): Parameter => ({
      name: p.name,
      type: 'string',
      description: p.description,
      default: p.value,
    })),
    dropped: proposal.parameters.filter((p) => !IDENTIFIER.test(p.name)).map((p) => p.name),
  };
}

function ParametersTable({ parameters }: { parameters: Parameter[] }) {
  if (parameters.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No parameters: the command is saved as it is.
      </Text>
    );
  return (
    <Table data-testid="save-parameters">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Parameter</Table.Th>
          <Table.Th>Type</Table.Th>
          <Table.Th>Default</Table.Th>
          <Table.Th>Description</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {parameters.map((p) => (
          <Table.Tr key={p.name}>
            <Table.Td ff="monospace">{p.name}</Table.Td>
            <Table.Td>{p.type}</Table.Td>
            <Table.Td ff="monospace">{String(p.default ?? '')}</Table.Td>
            <Table.Td>{p.description}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** The form of the modal: mounted while it is open, so closing it forgets what was typed. */
function SaveForm(props: {
  conversationId: string;
  messageId: string;
  proposal: Proposal;
  onSaved: (script: Script) => void;
}) {
  const { proposal } = props;
  const [name, setName] = useState('');
  // one line is a saved command, as the server would choose
  const [kind, setKind] = useState<Kind>(proposal.command.includes('\n') ? 'script' : 'command');
  const save = useSaveProposal();
  const { kept, dropped } = parametersOf(proposal);
  const errors = fieldErrorsOf(save.error);

  const submit = () =>
    save.mutate(
      {
        conversation_id: props.conversationId,
        message_id: props.messageId,
        name: name.trim(),
        kind,
        parameters: kept,
      },
      { onSuccess: props.onSaved },
    );

  return (
    <Stack>
      <TextInput
        label="Name"
        required
        data-autofocus
        value={name}
        onChange={(event) => setName(event.currentTarget.value)}
        error={errorUnder(errors, 'name')}
      />
      <Stack gap={4}>
        <Text size="sm" fw={500}>
          Kind
        </Text>
        <SegmentedControl
          value={kind}
          onChange={(value) => setKind(value === 'script' ? 'script' : 'command')}
          data={[
            { value: 'command', label: 'Saved command' },
            { value: 'script', label: 'Script' },
          ]}
        />
      </Stack>
      <ParametersTable parameters={kept} />
      {dropped.length > 0 && (
        <Text size="xs" c="dimmed">
          Left out (not a valid parameter name): {dropped.join(', ')}
        </Text>
      )}
      <Text size="xs" c="dimmed">
        Types and defaults can be changed on the script page afterwards.
      </Text>
      <RefusalAlert error={save.error} shown={['name']} />
      <Group justify="flex-end">
        <Button onClick={submit} loading={save.isPending} disabled={name.trim() === ''}>
          Save
        </Button>
      </Group>
    </Stack>
  );
}

/** Saves a proposal as a script or saved command, its assumed parameters typed as strings. */
export function SaveScriptModal(props: {
  opened: boolean;
  onClose: () => void;
  conversationId: string;
  messageId: string;
  proposal: Proposal;
  onSaved: (script: Script) => void;
}) {
  const { opened, onClose, onSaved, ...form } = props;
  return (
    <Modal opened={opened} onClose={onClose} title="Save as script" size="lg">
      {opened && (
        <SaveForm
          {...form}
          onSaved={(script) => {
            onClose();
            onSaved(script);
          }}
        />
      )}
    </Modal>
  );
}
