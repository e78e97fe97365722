import { Alert, Button, Code, Group, Paper, Stack, Text } from '@mantine/core';
import { modals } from '@mantine/modals';
import { usePermission } from '../auth/session';
import { JobOutput } from '../execution/JobOutput';
import { notifyFailure } from '../../shell/confirm';
import { type Conversation, type Proposal, useRunProposal } from './queries';
import { SafetyBadge, SafetyFindings } from './SafetyBadge';

type Message = Conversation['messages'][number];

/** Asks before running a command the safety check did not call safe; runs it once confirmed. */
function confirmRun(proposal: Proposal, run: () => void) {
  const dangerous = proposal.safety.level === 'dangerous';
  modals.openConfirmModal({
    title: dangerous ? 'Run a dangerous command?' : 'Run this command?',
    children: (
      <Stack gap="xs">
        <Text size="sm">
          The safety check calls this command <b>{proposal.safety.level}</b>. Read it before it runs:
        </Text>
        <Code block>{proposal.command}</Code>
        <SafetyFindings safety={proposal.safety} />
      </Stack>
    ),
    labels: { confirm: 'Run it', cancel: 'Keep it' },
    confirmProps: { color: dangerous ? 'red' : 'yellow' },
    onConfirm: run,
  });
}

/** One proposal: the command, its safety verdict, running it on the agent and its output. */
export function ProposalCard(props: {
  conversationId: string;
  message: Message;
  agentId: string | null;
  onExplain: (jobId: string) => void;
}) {
  const { conversationId, message, agentId, onExplain } = props;
  const proposal = message.proposal;
  const run = useRunProposal();
  const canRun = usePermission('jobs:execute');
  const canConfirmDangerous = usePermission('assistant:confirm_dangerous');
  if (!proposal) return null;
  const { confirmation } = proposal.safety;
  const blocked = confirmation === 'confirm_dangerous' && !canConfirmDangerous;
  const start = (confirm: boolean) =>
    run.mutate(
      { conversation_id: conversationId, message_id: message.id, agent_id: agentId ?? undefined, confirm },
      { onError: notifyFailure('Running the command failed') },
    );
  const onRun = () => (confirmation === 'none' ? start(false) : confirmRun(proposal, () => start(true)));
  return (
    <Paper withBorder p="sm" data-testid="proposal">
      <Stack gap="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <SafetyBadge level={proposal.safety.level} />
            <Text size="sm" c="dimmed">
              {proposal.shell}
              {proposal.estimated_duration_seconds !== null &&
                ` · about ${proposal.estimated_duration_seconds} s`}
            </Text>
          </Group>
          {canRun && agentId && !message.job_id && (
            <Button size="xs" onClick={onRun} disabled={blocked} loading={run.isPending}>
              Run on agent
            </Button>
          )}
        </Group>
        <Code block data-testid="proposal-command">
          {proposal.command}
        </Code>
        <Text size="sm">{proposal.explanation}</Text>
        {proposal.parameters.length > 0 && (
          <Text size="xs" c="dimmed">
            Assumed: {proposal.parameters.map((p) => `${p.name} = ${p.value}`).join(', ')}
          </Text>
        )}
        <SafetyFindings safety={proposal.safety} />
        {blocked && (
          <Alert color="red">
            Running a dangerous command takes the permission assistant:confirm_dangerous.
          </Alert>
        )}
        {message.job_id && (
          <Stack gap="xs" data-testid="proposal-output">
            <JobOutput jobId={message.job_id} />
            <Group>
              <Button size="xs" variant="light" onClick={() => onExplain(message.job_id ?? '')}>
                Explain this output
              </Button>
            </Group>
          </Stack>
        )}
      </Stack>
    </Paper>
  );
}
