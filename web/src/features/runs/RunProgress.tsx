import { Group, Progress, Stack, Text, Tooltip } from '@mantine/core';

/** Job states drawn in the bar, in order; queued jobs are the bar's empty rest. */
const sections = [
  { label: 'succeeded', states: ['succeeded'], color: 'green' },
  { label: 'failed', states: ['failed', 'timed_out', 'lost'], color: 'red' },
  { label: 'canceled', states: ['canceled'], color: 'gray' },
  { label: 'running', states: ['dispatched', 'running'], color: 'blue' },
] as const;

const FINISHED = ['succeeded', 'failed', 'timed_out', 'lost', 'canceled'];

/** A run's progress from its `counts`: jobs by state, and their `total`. */
export function RunProgress({ counts, size = 'lg' }: { counts: Record<string, number>; size?: 'sm' | 'lg' }) {
  const total = counts.total ?? 0;
  const count = (states: readonly string[]) => states.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const finished = count(FINISHED);
  return (
    <Stack gap={4}>
      <Progress.Root size={size} aria-label="Run progress">
        {sections.map((section) => {
          const n = count(section.states);
          return (
            n > 0 && (
              <Tooltip key={section.label} label={`${n} ${section.label}`}>
                <Progress.Section value={(n / total) * 100} color={section.color} />
              </Tooltip>
            )
          );
        })}
      </Progress.Root>
      <Group justify="space-between">
        <Text size="xs" c="dimmed" data-testid="run-finished">
          {finished} of {total} finished
        </Text>
        {size === 'lg' && (
          <Text size="xs" c="dimmed">
            {Object.entries(counts)
              .filter(([state, n]) => state !== 'total' && n > 0)
              .map(([state, n]) => `${n} ${state.replace('_', ' ')}`)
              .join(', ')}
          </Text>
        )}
      </Group>
    </Stack>
  );
}
