import { Badge } from '@mantine/core';
import type { Agent } from './queries';

const colors = { online: 'green', offline: 'gray', pending: 'yellow' } as const;

export function AgentStatus({ status }: { status: Agent['status'] }) {
  return (
    <Badge color={colors[status]} variant="dot" data-testid="agent-status">
      {status}
    </Badge>
  );
}
