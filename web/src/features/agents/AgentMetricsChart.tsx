import { Alert, Card, Group, SegmentedControl, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { LineChart } from '../../shell/LineChart';

const RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
type Range = keyof typeof RANGES;
/** History is rolled up each minute: read again as often. */
const REFRESH_MS = 60_000;

function useAgentMetrics(agentId: string, range: Range) {
  return useQuery({
    queryKey: ['agents', 'metrics', agentId, range],
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - RANGES[range]);
      return api((c) =>
        c.GET('/api/v1/agents/{id}/metrics', {
          params: { path: { id: agentId }, query: { from: from.toISOString(), to: to.toISOString() } },
        }),
      );
    },
    refetchInterval: REFRESH_MS,
  });
}

/** An agent's CPU, memory and disk over a chosen range (the server picks raw points or buckets). */
export function AgentMetricsChart({ agentId }: { agentId: string }) {
  const [range, setRange] = useState<Range>('1h');
  const metrics = useAgentMetrics(agentId, range);
  const points = metrics.data?.points ?? [];
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Group gap="xs">
          <Title order={4}>Metrics history</Title>
          {metrics.data && (
            <Text size="xs" c="dimmed" data-testid="agent-metrics-step">
              {metrics.data.step === 'raw'
                ? 'every heartbeat'
                : `per ${metrics.data.step === '1m' ? 'minute' : 'hour'}`}
            </Text>
          )}
        </Group>
        <SegmentedControl
          size="xs"
          value={range}
          onChange={(value) => setRange(value as Range)}
          data={Object.keys(RANGES)}
          aria-label="Range"
        />
      </Group>
      {metrics.error && <Alert color="red">{metrics.error.message}</Alert>}
      {metrics.data && (
        <LineChart
          testId="agent-metrics-chart"
          series={[
            {
              name: 'CPU',
              color: 'var(--mantine-color-blue-6)',
              points: points.map((p) => ({ at: p.at, value: p.cpu_percent })),
            },
            {
              name: 'Memory',
              color: 'var(--mantine-color-grape-6)',
              points: points.map((p) => ({ at: p.at, value: p.memory_percent })),
            },
            {
              name: 'Disk',
              color: 'var(--mantine-color-orange-6)',
              points: points.map((p) => ({ at: p.at, value: p.disk_percent })),
            },
          ]}
        />
      )}
    </Card>
  );
}
