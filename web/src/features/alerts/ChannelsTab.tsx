import {
  Alert,
  Button,
  Code,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { ConfigList, DeleteButton } from './ConfigList';
import {
  useChannels,
  useCreateChannel,
  useDeleteChannel,
  useTestChannel,
  type Channel,
  type ChannelBody,
} from './queries';

function CreateChannelModal(props: { opened: boolean; onClose: () => void }) {
  const create = useCreateChannel();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<ChannelBody['kind']>('webhook');
  const [url, setUrl] = useState('');
  const [to, setTo] = useState<string[]>([]);
  const close = () => {
    props.onClose();
    create.reset();
  };
  const submit = () =>
    create.mutate(
      { name: name.trim(), kind, config: kind === 'email' ? { to } : { url: url.trim() } },
      { onSuccess: close },
    );
  return (
    <Modal opened={props.opened} onClose={close} title="New notification channel" size="lg">
      <Stack>
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <Select
          label="Kind"
          data={[
            { value: 'webhook', label: 'Webhook (JSON alert)' },
            { value: 'slack', label: 'Slack incoming webhook' },
            { value: 'teams', label: 'Teams incoming webhook' },
            { value: 'email', label: 'Email' },
          ]}
          value={kind}
          onChange={(value) => setKind(value ?? 'webhook')}
          allowDeselect={false}
        />
        {kind === 'email' ? (
          <TagsInput label="Send to" required value={to} onChange={setTo} />
        ) : (
          <TextInput
            label="URL"
            description="Stored encrypted and shown masked: its path often holds a token"
            required
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
          />
        )}
        {create.error && <Alert color="red">{create.error.message}</Alert>}
        <Group justify="flex-end">
          <Button loading={create.isPending} disabled={!name.trim()} onClick={submit}>
            Create channel
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Sends a sample through the channel and shows what the receiver answered, or why it could not. */
function TestButton({ channel }: { channel: Channel }) {
  const test = useTestChannel();
  return (
    <Stack gap={4}>
      <Button size="xs" variant="light" loading={test.isPending} onClick={() => test.mutate(channel.id)}>
        Test
      </Button>
      {test.data && (
        <Text size="xs" c={test.data.ok ? 'green' : 'red'} data-testid="channel-test-result">
          {test.data.status ?? 'sent'} in {test.data.duration_ms} ms:{' '}
          <Code>{test.data.body.slice(0, 120)}</Code>
        </Text>
      )}
      {test.error && (
        <Text size="xs" c="red" data-testid="channel-test-result">
          {test.error.message}
        </Text>
      )}
    </Stack>
  );
}

export function ChannelsTab() {
  const pages = useCursorPages();
  const channels = useChannels(pages.cursor);
  const remove = useDeleteChannel();
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('alerts:create');
  const canTest = usePermission('alerts:update');
  const canDelete = usePermission('alerts:delete');
  return (
    <ConfigList
      pages={pages}
      list={channels}
      create={canCreate ? { label: 'New channel', open: createModal.open } : undefined}
      headers={['Name', 'Kind', 'Sends to']}
      rowTestId="channel-row"
      empty="No channel yet. Add a webhook, a Slack or Teams incoming webhook, or email addresses."
      cells={(channel: Channel) => (
        <>
          <Table.Td>{channel.name}</Table.Td>
          <Table.Td>{channel.kind}</Table.Td>
          <Table.Td>{channel.config.url ?? channel.config.to?.join(', ')}</Table.Td>
          <Table.Td>
            <Group gap="xs" align="flex-start">
              {canTest && <TestButton channel={channel} />}
              {canDelete && (
                <DeleteButton
                  options={{
                    title: `Delete ${channel.name}?`,
                    body: 'Rules that notify it stop telling it.',
                    confirm: 'Delete channel',
                    run: () => remove.mutateAsync(channel.id),
                  }}
                />
              )}
            </Group>
          </Table.Td>
        </>
      )}
    >
      <CreateChannelModal opened={creating} onClose={createModal.close} />
    </ConfigList>
  );
}
