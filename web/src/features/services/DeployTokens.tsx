import {
  Alert,
  Badge,
  Button,
  Code,
  Group,
  Modal,
  NumberInput,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { usePermission } from '../auth/session';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { ShownOnce } from '../../shell/ShownOnce';
import {
  useCreateDeployToken,
  useDeployTokens,
  useRevokeDeployToken,
  type DeployToken,
  type TokenKind,
} from './queries';

/** The most days a deploy token lives (the server refuses more). */
const MAX_DAYS = 180;

const statusColor = { active: 'green', revoked: 'gray', expired: 'orange' } as const;

const when = (value: string | null, otherwise: string) =>
  value ? new Date(value).toLocaleString() : otherwise;

const what = (kind: TokenKind) => (kind === 'service' ? 'service token' : 'config token');

/**
 * States: form → created (the secret, shown this once) → closed, which forgets it; a refusal
 * stays on the form with the server's message under its field.
 */
function CreateTokenModal(props: {
  kind: TokenKind;
  serviceId?: string;
  opened: boolean;
  onClose: () => void;
}) {
  const [origin, setOrigin] = useState('github');
  const [days, setDays] = useState<number | string>(30);
  const create = useCreateDeployToken();
  const errors = fieldErrorsOf(create.error);
  const close = () => {
    props.onClose();
    create.reset();
    setOrigin('github');
    setDays(30);
  };
  const created = create.data;
  return (
    <Modal opened={props.opened} onClose={close} title={`Create a ${what(props.kind)}`} size="lg">
      {created ? (
        <ShownOnce
          what={what(props.kind)}
          name={`${created.token.origin} (${created.token.prefix}…)`}
          secret={created.secret}
          testId="deploy-token-secret"
          onDone={close}
        />
      ) : (
        <Stack>
          <TextInput
            label="Origin"
            description="Where it is used: github, gitlab, … (lowercase letters, digits, . _ -)"
            required
            value={origin}
            onChange={(e) => setOrigin(e.currentTarget.value)}
            error={errors['origin']}
          />
          <NumberInput
            label="Expires in (days)"
            description={`1 to ${MAX_DAYS}: every token expires`}
            required
            min={1}
            max={MAX_DAYS}
            value={days}
            onChange={setDays}
            error={errors['expires_in_days']}
          />
          <RefusalAlert error={create.error} shown={['origin', 'expires_in_days']} />
          <Group justify="flex-end">
            <Button
              onClick={() =>
                create.mutate({
                  kind: props.kind,
                  ...(props.serviceId ? { service_id: props.serviceId } : {}),
                  origin: origin.trim(),
                  expires_in_days: Number(days),
                })
              }
              loading={create.isPending}
              disabled={origin.trim() === '' || days === ''}
            >
              Create
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

/**
 * Deploy tokens of one kind, masked to their prefix, with their status; a service's own tokens
 * when `serviceId` is given. The secret is shown once, by the create modal.
 */
export function DeployTokens(props: { kind: TokenKind; serviceId?: string; title: string; hint: string }) {
  const pages = useCursorPages(`${props.kind}-${props.serviceId ?? ''}`);
  const tokens = useDeployTokens(props.kind, props.serviceId, pages.cursor);
  const revoke = useRevokeDeployToken();
  const canCreate = usePermission('deploy_tokens:create');
  const canRevoke = usePermission('deploy_tokens:delete');
  const [creating, createModal] = useDisclosure();
  const confirmRevoke = (token: DeployToken) =>
    confirmDestructive({
      title: `Revoke ${token.prefix}…?`,
      body: 'Requests with this token are refused from now on.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(token.id),
    });
  const items = tokens.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={4}>{props.title}</Title>
        {canCreate && (
          <Button variant="light" onClick={createModal.open}>
            Create {what(props.kind)}
          </Button>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        {props.hint}
      </Text>
      {tokens.error && <Alert color="red">{tokens.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Token</Table.Th>
            <Table.Th>Origin</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((token) => (
            <Table.Tr key={token.id} data-testid="deploy-token-row">
              <Table.Td>
                <Code>{token.prefix}…</Code>
              </Table.Td>
              <Table.Td>{token.origin}</Table.Td>
              <Table.Td>
                <Badge color={statusColor[token.status]} variant="light">
                  {token.status}
                </Badge>
              </Table.Td>
              <Table.Td>{when(token.created_at, '—')}</Table.Td>
              <Table.Td>{when(token.expires_at, '—')}</Table.Td>
              <Table.Td>{when(token.last_used_at, 'never')}</Table.Td>
              <Table.Td>
                {canRevoke && token.status === 'active' && (
                  <Button size="xs" color="red" variant="light" onClick={() => confirmRevoke(token)}>
                    Revoke
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {tokens.isSuccess && items.length === 0 && (
        <Text size="sm" c="dimmed" ta="center">
          No {what(props.kind)} yet.
        </Text>
      )}
      <Pager pages={pages} nextCursor={tokens.data?.next_cursor} />
      <CreateTokenModal
        kind={props.kind}
        serviceId={props.serviceId}
        opened={creating}
        onClose={createModal.close}
      />
    </Stack>
  );
}
