import { Badge } from '@mantine/core';
import type { RunState } from './queries';

const colors: Record<RunState, string> = {
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  canceled: 'gray',
};

export function RunStatus({ status }: { status: RunState }) {
  return (
    <Badge color={colors[status]} variant="light" data-testid="run-status">
      {status}
    </Badge>
  );
}
