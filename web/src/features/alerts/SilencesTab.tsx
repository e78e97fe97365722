import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  TagsInput,
  TextInput,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { ConfigList, DeleteButton } from './ConfigList';
import { useCreateSilence, useDeleteSilence, useRules, useSilences, type Silence } from './queries';

const STATE_COLOURS: Record<Silence['state'], string> = {
  pending: 'blue',
  active: 'violet',
  expired: 'gray',
};
const HOUR = 3_600_000;

/** A silence from now for some hours, or a maintenance window starting in some hours. */
function CreateSilenceModal(props: { opened: boolean; onClose: () => void }) {
  const create = useCreateSilence();
  const rules = useRules(undefined);
  const [ruleId, setRuleId] = useState<string | null>(null);
  const [tags, setTags] = useState<string[]>([]);
  const [reason, setReason] = useState('');
  const [startsIn, setStartsIn] = useState(0);
  const [hours, setHours] = useState(2);
  const close = () => {
    props.onClose();
    create.reset();
  };
  const submit = () => {
    const start = Date.now() + startsIn * HOUR;
    create.mutate(
      {
        reason: reason.trim(),
        ...(ruleId ? { rule_id: ruleId } : {}),
        ...(tags.length > 0 ? { selector: { tags } } : {}),
        ...(startsIn > 0 ? { starts_at: new Date(start).toISOString() } : {}),
        ends_at: new Date(start + hours * HOUR).toISOString(),
      },
      { onSuccess: close },
    );
  };
  return (
    <Modal opened={props.opened} onClose={close} title="New silence" size="lg">
      <Stack>
        <Select
          label="Rule"
          placeholder="Any rule"
          clearable
          data={(rules.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))}
          value={ruleId}
          onChange={setRuleId}
        />
        <TagsInput label="Agents with these tags" placeholder="Any agent" value={tags} onChange={setTags} />
        <TextInput
          label="Reason"
          required
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
        />
        <Group grow>
          <NumberInput
            label="Starts in (hours)"
            min={0}
            value={startsIn}
            onChange={(v) => setStartsIn(Number(v) || 0)}
          />
          <NumberInput
            label="Lasts (hours)"
            min={1}
            value={hours}
            onChange={(v) => setHours(Number(v) || 1)}
          />
        </Group>
        {create.error && <Alert color="red">{create.error.message}</Alert>}
        <Group justify="flex-end">
          <Button loading={create.isPending} disabled={!reason.trim()} onClick={submit}>
            Create silence
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** What a silence covers: its rule, its agents' tags, or both. */
function covers(silence: Silence): string {
  return (
    [
      silence.rule_id ? 'one rule' : null,
      silence.selector?.tags?.length ? `tags ${silence.selector.tags.join(', ')}` : null,
    ]
      .filter(Boolean)
      .join(' on ') || 'agents selected'
  );
}

export function SilencesTab() {
  const pages = useCursorPages();
  const silences = useSilences(pages.cursor);
  const remove = useDeleteSilence();
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('alerts:create');
  const canDelete = usePermission('alerts:delete');
  return (
    <ConfigList
      pages={pages}
      list={silences}
      create={canCreate ? { label: 'New silence', open: createModal.open } : undefined}
      headers={['Reason', 'Covers', 'From', 'Until', 'State']}
      rowTestId="silence-row"
      empty="No silence. Silence a rule or some agents during maintenance: alerts still fire, nobody is told."
      cells={(silence: Silence) => (
        <>
          <Table.Td>{silence.reason}</Table.Td>
          <Table.Td>{covers(silence)}</Table.Td>
          <Table.Td>{new Date(silence.starts_at).toLocaleString()}</Table.Td>
          <Table.Td>{new Date(silence.ends_at).toLocaleString()}</Table.Td>
          <Table.Td>
            <Badge color={STATE_COLOURS[silence.state]}>{silence.state}</Badge>
          </Table.Td>
          <Table.Td>
            {canDelete && (
              <DeleteButton
                options={{
                  title: 'Delete this silence?',
                  body: 'Alerts it holds are told at the next evaluation.',
                  confirm: 'Delete silence',
                  run: () => remove.mutateAsync(silence.id),
                }}
              />
            )}
          </Table.Td>
        </>
      )}
    >
      <CreateSilenceModal opened={creating} onClose={createModal.close} />
    </ConfigList>
  );
}
