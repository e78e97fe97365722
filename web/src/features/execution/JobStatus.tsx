import { Badge } from '@mantine/core';

const colors: Record<string, string> = {
  queued: 'gray',
  dispatched: 'blue',
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  timed_out: 'orange',
  canceled: 'gray',
  lost: 'orange',
};

export function JobStatus({ status }: { status: string }) {
  return (
    <Badge color={colors[status] ?? 'gray'} variant="light" data-testid="job-status">
      {status.replace('_', ' ')}
    </Badge>
  );
}
