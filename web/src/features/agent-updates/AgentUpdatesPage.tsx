import { Alert, Badge, Button, Code, Group, Select, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { useGroups } from '../agents/queries';
import { usePermission } from '../auth/session';
import { useAgentUpdates, useSetUpdatePolicy, type AgentUpdates, type UpdatePolicy } from './queries';
import { formatBytes } from '../../shell/bytes';

type UpdateRow = AgentUpdates['agents'][number];

const outcomeColor: Record<NonNullable<UpdateRow['outcome']>, string> = {
  offered: 'blue',
  swapped: 'cyan',
  updated: 'green',
  failed: 'red',
};

function Builds(props: { builds: AgentUpdates['builds'] }) {
  if (props.builds.length === 0)
    return (
      <Alert color="yellow" data-testid="no-builds">
        This server holds no agent builds: <Code>npm run build:agents</Code> makes them, and agents are
        offered the newer one for their platform.
      </Alert>
    );
  return (
    <Table data-testid="builds">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Platform</Table.Th>
          <Table.Th>Version</Table.Th>
          <Table.Th>SHA-256</Table.Th>
          <Table.Th>Size</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {props.builds.map((build) => (
          <Table.Tr key={`${build.os}-${build.arch}`}>
            <Table.Td>
              {build.os}-{build.arch}
            </Table.Td>
            <Table.Td>{build.version}</Table.Td>
            <Table.Td>
              <Code>{build.sha256}</Code>
            </Table.Td>
            <Table.Td>{formatBytes(build.size)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Pause, the canary group, and the step from canary to all. */
function Rollout(props: { policy: AgentUpdates['policy'] }) {
  const { policy } = props;
  const groups = useGroups();
  const save = useSetUpdatePolicy();
  const canChange = usePermission('agents:update');
  const change = (next: Partial<UpdatePolicy>) =>
    save.mutate({
      paused: policy.paused,
      stage: policy.stage,
      canary_group_id: policy.canary_group_id,
      ...next,
    });
  const groupName = groups.data?.items.find((g) => g.id === policy.canary_group_id)?.name;
  return (
    <Stack gap="xs">
      <Group>
        <Switch
          label="Paused"
          checked={policy.paused}
          disabled={!canChange || save.isPending}
          onChange={(event) => change({ paused: event.currentTarget.checked })}
        />
        <Select
          aria-label="Canary group"
          placeholder="Canary group"
          clearable
          disabled={!canChange || save.isPending}
          data={(groups.data?.items ?? []).map((g) => ({ value: g.id, label: g.name }))}
          value={policy.canary_group_id}
          onChange={(value) => change({ canary_group_id: value })}
        />
        {policy.stage === 'canary' ? (
          <Button
            disabled={!canChange || save.isPending}
            onClick={() => change({ stage: 'all' })}
            data-testid="promote"
          >
            Promote to all agents
          </Button>
        ) : (
          <Button
            variant="default"
            disabled={!canChange || save.isPending || !policy.canary_group_id}
            onClick={() => change({ stage: 'canary' })}
          >
            Back to canary
          </Button>
        )}
      </Group>
      <Text size="sm" data-testid="rollout">
        {policy.paused
          ? 'Paused: no agent is offered an update.'
          : policy.stage === 'all'
            ? 'Every single-file agent older than the build for its platform is offered it.'
            : `Canary: only agents of ${groupName ? `the group ${groupName}` : 'the canary group (none chosen)'} are offered updates.`}
      </Text>
      {save.error && <Alert color="red">{save.error.message}</Alert>}
    </Stack>
  );
}

function Updates(props: { rows: UpdateRow[] }) {
  if (props.rows.length === 0) return <Text c="dimmed">No agent has been offered an update yet.</Text>;
  return (
    <Table data-testid="updates">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Agent</Table.Th>
          <Table.Th>Runs</Table.Th>
          <Table.Th>Offered</Table.Th>
          <Table.Th>Outcome</Table.Th>
          <Table.Th>Why</Table.Th>
          <Table.Th>When</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {props.rows.map((row) => (
          <Table.Tr key={row.agent_id}>
            <Table.Td>
              <Link to={`/agents/${row.agent_id}`}>{row.hostname}</Link>
            </Table.Td>
            <Table.Td>
              {row.version} ({row.os}-{row.arch})
            </Table.Td>
            <Table.Td>{row.offered_version ?? '—'}</Table.Td>
            <Table.Td>
              {row.outcome && <Badge color={outcomeColor[row.outcome]}>{row.outcome}</Badge>}
            </Table.Td>
            <Table.Td>
              <Text size="sm">{row.reason ?? ''}</Text>
            </Table.Td>
            <Table.Td>{new Date(row.updated_at).toLocaleString()}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/**
 * Agent updates: the builds this server offers, the organisation's rollout (paused, canary group,
 * all), its agents by version, and each update offered with how it ended.
 */
export function AgentUpdatesPage() {
  const updates = useAgentUpdates();
  const data = updates.data;
  return (
    <Stack maw={1100}>
      <Title order={2}>Agent updates</Title>
      <Text size="sm" c="dimmed">
        Single-file agents update themselves: an agent older than the build for its platform downloads it,
        checks its SHA-256 and the server&apos;s signature, runs it once on trial, and only then swaps. A
        build that fails its trial is removed and reported here; the agent stays on its version.
      </Text>
      {updates.error && <Alert color="red">{updates.error.message}</Alert>}
      {data && (
        <>
          <Title order={4}>Builds</Title>
          <Builds builds={data.builds} />
          <Title order={4}>Rollout</Title>
          <Rollout policy={data.policy} />
          <Title order={4}>Agents by version</Title>
          <Group data-testid="versions">
            {data.versions.length === 0 && <Text c="dimmed">No agent has reported a version.</Text>}
            {data.versions.map((v) => (
              <Badge key={v.version} variant="light" size="lg">
                {v.version}: {v.count}
              </Badge>
            ))}
          </Group>
          <Title order={4}>Updates</Title>
          <Updates rows={data.agents} />
        </>
      )}
    </Stack>
  );
}
