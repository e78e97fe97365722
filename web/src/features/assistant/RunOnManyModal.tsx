import { Button, Code, Group, Modal, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { emptyTarget, ExecuteTargetInput, targetOf, type TargetDraft } from '../scripts/ExecuteTargetInput';
import type { Proposal, RunBody } from './queries';

export type RunTarget = NonNullable<RunBody['target']>;

/** Mounted while the modal is open, so a new opening starts from an empty target. */
function TargetForm(props: { proposal: Proposal; onPick: (target: RunTarget) => void }) {
  // "many": tags are the usual way to name a set, so the picker starts there
  const [draft, setDraft] = useState<TargetDraft>({ ...emptyTarget, mode: 'tags' });
  const target = targetOf(draft);
  return (
    <Stack>
      <Code block>{props.proposal.command}</Code>
      <ExecuteTargetInput draft={draft} onChange={setDraft} />
      <Text size="xs" c="dimmed">
        It becomes a run: one job per matching agent, followed on the run&apos;s page.
      </Text>
      <Group justify="flex-end">
        <Button onClick={() => target && props.onPick(target)} disabled={!target}>
          Run
        </Button>
      </Group>
    </Stack>
  );
}

/** Picks where a proposal runs as a run (agents, tags, a group or all); the card then starts it. */
export function RunOnManyModal(props: {
  opened: boolean;
  onClose: () => void;
  proposal: Proposal;
  onPick: (target: RunTarget) => void;
}) {
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Run on many agents" size="lg">
      {props.opened && <TargetForm proposal={props.proposal} onPick={props.onPick} />}
    </Modal>
  );
}
