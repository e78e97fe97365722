import { Alert, Anchor, Button, Code, Group, Paper, Stack, Text } from '@mantine/core';
import { modals } from '@mantine/modals';
import { useState } from 'react';
import { Link } from 'react-router';
import { usePermission } from '../auth/session';
import { JobOutput } from '../execution/JobOutput';
import type { Script } from '../scripts/queries';
import { notifyFailure } from '../../shell/confirm';
import { type Conversation, type Proposal, type RunBody, useRunProposal } from './queries';
import { RunOnManyModal } from './RunOnManyModal';
import { SafetyBadge, SafetyFindings } from './SafetyBadge';
import { SaveScriptModal } from './SaveScriptModal';

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

/**
 * One proposal: the command, its safety verdict, running it on the agent or on a target set (a
 * run), saving it as a script, and the output or the run's link. At most one of its two modals
 * (save, run on many) is open; a confirmation for a caution or dangerous command follows the
 * target modal once it has closed, as it follows the "Run on agent" button.
 */
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
  const canRunMany = usePermission('runs:execute');
  const canSave = usePermission('scripts:create');
  const canConfirmDangerous = usePermission('assistant:confirm_dangerous');
  const [dialog, setDialog] = useState<'save' | 'many' | null>(null);
  const [saved, setSaved] = useState<Script | null>(null);
  if (!proposal) return null;
  const { confirmation } = proposal.safety;
  const blocked = confirmation === 'confirm_dangerous' && !canConfirmDangerous;
  // The message links one job or one run: running it again would replace that link.
  const ran = message.job_id !== null || message.run_id !== null;
  const start = (where: Pick<RunBody, 'agent_id' | 'target'>, confirm: boolean) =>
    run.mutate(
      { conversation_id: conversationId, message_id: message.id, ...where, confirm },
      { onError: notifyFailure('Running the command failed') },
    );
  const guarded = (where: Pick<RunBody, 'agent_id' | 'target'>) =>
    confirmation === 'none' ? start(where, false) : confirmRun(proposal, () => start(where, true));
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
          <Group gap="xs">
            {canSave && (
              <Button size="xs" variant="default" onClick={() => setDialog('save')}>
                Save as script
              </Button>
            )}
            {canRun && agentId && !ran && (
              <Button
                size="xs"
                onClick={() => guarded({ agent_id: agentId })}
                disabled={blocked}
                loading={run.isPending}
              >
                Run on agent
              </Button>
            )}
            {canRunMany && !ran && (
              <Button
                size="xs"
                variant="light"
                onClick={() => setDialog('many')}
                disabled={blocked}
                loading={run.isPending}
              >
                Run on many
              </Button>
            )}
          </Group>
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
        {saved && (
          <Alert color="green" withCloseButton onClose={() => setSaved(null)} data-testid="saved-script">
            Saved as{' '}
            <Anchor component={Link} to={`/scripts/${saved.id}`}>
              {saved.name}
            </Anchor>
          </Alert>
        )}
        {message.run_id && (
          <Alert color="blue" data-testid="proposal-run">
            Started as a run:{' '}
            <Anchor component={Link} to={`/runs/${message.run_id}`}>
              open the run
            </Anchor>
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
      <SaveScriptModal
        opened={dialog === 'save'}
        onClose={() => setDialog(null)}
        conversationId={conversationId}
        messageId={message.id}
        proposal={proposal}
        onSaved={setSaved}
      />
      <RunOnManyModal
        opened={dialog === 'many'}
        onClose={() => setDialog(null)}
        proposal={proposal}
        onPick={(target) => {
          setDialog(null);
          guarded({ target });
        }}
      />
    </Paper>
  );
}
