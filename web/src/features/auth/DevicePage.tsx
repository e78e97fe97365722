import { Alert, Badge, Button, Code, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { confirmDestructive } from '../../shell/confirm';
import { RefusalAlert } from '../../shell/refusal';
import {
  useConfirmDevice,
  useRevokeSdkToken,
  useSdkTokens,
  type DeviceDecision,
  type SdkToken,
} from './deviceQueries';
import { useSession } from './session';

function when(value: string | null, otherwise: string): string {
  return value ? new Date(value).toLocaleString() : otherwise;
}

/**
 * Where an SDK's user confirms its sign-in: the code comes typed, or in the link the SDK showed
 * (`?user_code=`). Approving signs the SDK in as this user, in the current organisation.
 */
function ConfirmCode() {
  const [params] = useSearchParams();
  const { me } = useSession();
  const [code, setCode] = useState(params.get('user_code') ?? '');
  const [decided, setDecided] = useState<DeviceDecision | null>(null);
  const confirm = useConfirmDevice();
  const decide = (approve: boolean) =>
    confirm.mutate({ user_code: code.trim(), approve }, { onSuccess: (result) => setDecided(result) });

  if (decided)
    return (
      <Alert color={decided.status === 'confirmed' ? 'green' : 'gray'} data-testid="device-decided">
        {decided.status === 'confirmed'
          ? `${decided.client_name} is signed in. You can close this page and go back to it.`
          : `The sign-in of ${decided.client_name} was denied.`}
      </Alert>
    );
  return (
    <Stack maw={480}>
      <Text size="sm">
        Enter the code your SDK shows. Approving lets it act as you in {me?.org.name ?? 'this organisation'},
        with what you may do here in packages, processes, jobs, queues, assets and robots.
      </Text>
      <TextInput
        label="Code"
        placeholder="XXXX-XXXX"
        value={code}
        onChange={(e) => setCode(e.currentTarget.value.toUpperCase())}
        styles={{ input: { fontFamily: 'monospace', letterSpacing: 2 } }}
      />
      <RefusalAlert error={confirm.error} />
      <Group>
        <Button onClick={() => decide(true)} loading={confirm.isPending} disabled={!code.trim()}>
          Approve
        </Button>
        <Button
          variant="default"
          color="red"
          onClick={() => decide(false)}
          disabled={!code.trim() || confirm.isPending}
        >
          Deny
        </Button>
      </Group>
    </Stack>
  );
}

/** The user's own SDK tokens here: masked to their prefix, revocable. */
function SdkTokens() {
  const tokens = useSdkTokens();
  const revoke = useRevokeSdkToken();
  const confirmRevoke = (token: SdkToken) =>
    confirmDestructive({
      title: `Revoke ${token.client_name}'s token?`,
      body: 'The SDK using it is signed out at once.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(token.id),
    });
  const items = tokens.data?.items ?? [];
  return (
    <Stack>
      <Title order={4}>Your SDK sign-ins</Title>
      {tokens.error && <Alert color="red">{tokens.error.message}</Alert>}
      {tokens.isSuccess && items.length === 0 ? (
        <Text size="sm" c="dimmed">
          No SDK is signed in as you here.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Client</Table.Th>
              <Table.Th>Token</Table.Th>
              <Table.Th>Signed in</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((token) => (
              <Table.Tr key={token.id} data-testid="sdk-token-row">
                <Table.Td>{token.client_name}</Table.Td>
                <Table.Td>
                  <Code>{token.prefix}…</Code>
                </Table.Td>
                <Table.Td>{when(token.created_at, '')}</Table.Td>
                <Table.Td>{when(token.expires_at, '')}</Table.Td>
                <Table.Td>{when(token.last_used_at, 'never')}</Table.Td>
                <Table.Td>
                  {token.revoked_at ? (
                    <Badge color="gray" variant="light">
                      revoked
                    </Badge>
                  ) : (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmRevoke(token)}>
                      Revoke
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function DevicePage() {
  return (
    <Stack>
      <Title order={2}>Sign in an SDK</Title>
      <ConfirmCode />
      <SdkTokens />
    </Stack>
  );
}
