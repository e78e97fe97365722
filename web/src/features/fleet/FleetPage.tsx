import {
  Alert,
  Anchor,
  Badge,
  Card,
  Group,
  Loader,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import type { ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { LineChart } from '../../shell/LineChart';
import { FLEET_WINDOWS, useFleetOverview, type FleetOverview, type FleetWindow } from './queries';

const percent = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)} %`);

function Stat({
  label,
  value,
  testId,
  hint,
}: {
  label: string;
  value: ReactNode;
  testId: string;
  hint?: ReactNode;
}) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} size="lg" data-testid={testId}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </div>
  );
}

function AgentsCard({ agents }: { agents: FleetOverview['agents'] }) {
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Agents
      </Title>
      <SimpleGrid cols={3} mb="sm">
        <Stat label="Total" value={agents.total} testId="fleet-agents-total" />
        <Stat label="Online" value={agents.online} testId="fleet-agents-online" />
        <Stat label="Offline" value={agents.offline} testId="fleet-agents-offline" />
      </SimpleGrid>
      <Group gap="xs">
        {agents.by_os.map((os) => (
          <Badge key={os.os_type} variant="light" data-testid={`fleet-os-${os.os_type}`}>
            {os.os_type}: {os.online}/{os.total}
          </Badge>
        ))}
      </Group>
    </Card>
  );
}

function UsageCard({ usage }: { usage: FleetOverview['usage'] }) {
  const series = (pick: (p: FleetOverview['usage']['series'][number]) => number) =>
    usage.series.map((p) => ({ at: p.at, value: pick(p) }));
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Usage
      </Title>
      <SimpleGrid cols={{ base: 2, md: 4 }} mb="sm">
        <Stat
          label="CPU (avg / peak)"
          value={percent(usage.cpu_percent.avg)}
          hint={`peak ${percent(usage.cpu_percent.peak)}`}
          testId="fleet-cpu"
        />
        <Stat
          label="Memory (avg / peak)"
          value={percent(usage.memory_percent.avg)}
          hint={`peak ${percent(usage.memory_percent.peak)}`}
          testId="fleet-memory"
        />
        <Stat
          label="Disk (avg / peak)"
          value={percent(usage.disk_percent.avg)}
          hint={`peak ${percent(usage.disk_percent.peak)}`}
          testId="fleet-disk"
        />
        <Stat label="Uptime" value={percent(usage.uptime_percent)} testId="fleet-uptime" />
      </SimpleGrid>
      <LineChart
        testId="fleet-chart"
        series={[
          { name: 'CPU', color: 'var(--mantine-color-blue-6)', points: series((p) => p.cpu_percent) },
          { name: 'Memory', color: 'var(--mantine-color-grape-6)', points: series((p) => p.memory_percent) },
          { name: 'Disk', color: 'var(--mantine-color-orange-6)', points: series((p) => p.disk_percent) },
        ]}
      />
    </Card>
  );
}

function Outcomes({
  title,
  outcomes,
  testId,
  extra,
}: {
  title: string;
  outcomes: { by_outcome: Record<string, number>; total: number; success_rate: number | null };
  testId: string;
  extra?: ReactNode;
}) {
  return (
    <Card withBorder data-testid={testId}>
      <Group justify="space-between" mb="sm">
        <Title order={4}>{title}</Title>
        <Text size="sm" c="dimmed" data-testid={`${testId}-rate`}>
          {outcomes.success_rate === null
            ? 'no outcome yet'
            : `${outcomes.success_rate.toFixed(1)} % succeeded`}
        </Text>
      </Group>
      <Group gap="xs">
        <Badge variant="outline">{outcomes.total} ended</Badge>
        {Object.entries(outcomes.by_outcome).map(([outcome, count]) => (
          <Badge key={outcome} variant="light" color={outcome === 'succeeded' ? 'green' : 'red'}>
            {outcome}: {count}
          </Badge>
        ))}
        {extra}
      </Group>
    </Card>
  );
}

function Backlogs({ queues }: { queues: NonNullable<FleetOverview['queues']> }) {
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={4}>Queue backlogs</Title>
        <Text size="sm" c="dimmed" data-testid="fleet-queues-waiting">
          {queues.waiting} waiting
        </Text>
      </Group>
      {queues.backlogs.length === 0 ? (
        <Text c="dimmed">No item is waiting.</Text>
      ) : (
        <Table>
          <Table.Tbody>
            {queues.backlogs.map((queue) => (
              <Table.Tr key={queue.queue_id}>
                <Table.Td>
                  <Anchor component={Link} to={`/queues/${queue.queue_id}`} size="sm">
                    {queue.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{queue.waiting}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

function Deployments({ deployments }: { deployments: NonNullable<FleetOverview['deployments']> }) {
  return (
    <Card withBorder data-testid="fleet-deployments">
      <Title order={4} mb="sm">
        Deployments
      </Title>
      {deployments.total === 0 && <Text c="dimmed">No deployment yet.</Text>}
      <Group gap="xs">
        {Object.entries(deployments.by_status).map(([status, count]) => (
          <Badge key={status} variant="light">
            {status}: {count}
          </Badge>
        ))}
      </Group>
    </Card>
  );
}

/** The fleet at a glance over a window: agents, usage, uptime, outcomes, backlogs and deployments. */
export function FleetPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get('window') as FleetWindow | null;
  const window = requested && FLEET_WINDOWS.includes(requested) ? requested : '24h';
  const overview = useFleetOverview(window);
  const o = overview.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Fleet</Title>
        <SegmentedControl
          value={window}
          onChange={(value) => setParams({ window: value })}
          data={FLEET_WINDOWS}
          aria-label="Window"
        />
      </Group>
      {overview.error && <Alert color="red">{overview.error.message}</Alert>}
      {overview.isPending && <Loader />}
      {o && (
        <>
          <AgentsCard agents={o.agents} />
          <UsageCard usage={o.usage} />
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {o.jobs && <Outcomes title="Jobs" outcomes={o.jobs} testId="fleet-jobs" />}
            {o.runs && (
              <Outcomes
                title="Runs"
                outcomes={o.runs}
                testId="fleet-runs"
                extra={<Badge variant="outline">{o.runs.in_progress} in progress</Badge>}
              />
            )}
            {o.queues && <Backlogs queues={o.queues} />}
            {o.deployments && <Deployments deployments={o.deployments} />}
          </SimpleGrid>
          <Text size="xs" c="dimmed">
            History is rolled up each minute; the last minute or so is not in it yet.
          </Text>
        </>
      )}
    </Stack>
  );
}
