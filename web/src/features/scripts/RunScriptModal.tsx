import { Button, Group, Modal, Select, Stack } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useAgents } from '../agents/queries';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { initialTexts, parameterValues, ParameterValuesForm } from './ParameterValuesForm';
import { useRunScript, type Script } from './queries';

function RunForm({ script, onDone }: { script: Script; onDone: () => void }) {
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [agentId, setAgentId] = useState<string | null>(null);
  const [texts, setTexts] = useState(() => initialTexts(script.parameters));
  const agents = useAgents({ q: search || undefined }, undefined, 50);
  const run = useRunScript(script.id);

  const submit = () => {
    if (!agentId) return;
    run.mutate(
      { agent_id: agentId, parameters: parameterValues(script.parameters, texts) },
      {
        onSuccess: (job) => {
          onDone();
          void navigate(`/jobs/${job.id}`);
        },
      },
    );
  };

  return (
    <Stack>
      <Select
        label="Agent"
        required
        searchable
        searchValue={search}
        onSearchChange={setSearch}
        filter={({ options }) => options}
        data={(agents.data?.items ?? []).map((agent) => ({
          value: agent.id,
          label: `${agent.name} (${agent.status})`,
        }))}
        value={agentId}
        onChange={setAgentId}
        nothingFoundMessage="No agent found"
      />
      <ParameterValuesForm
        definitions={script.parameters}
        texts={texts}
        onChange={setTexts}
        errors={fieldErrorsOf(run.error)}
      />
      <RefusalAlert error={run.error} />
      <Group justify="flex-end">
        <Button onClick={submit} loading={run.isPending} disabled={!agentId}>
          Run
        </Button>
      </Group>
    </Stack>
  );
}

/**
 * Runs the script on one agent picked by name (a job), then shows that job's page. Closing
 * forgets what was typed, secrets included (the form unmounts).
 */
export function RunScriptModal(props: { script: Script; opened: boolean; onClose: () => void }) {
  const { script } = props;
  return (
    <Modal opened={props.opened} onClose={props.onClose} title={`Run ${script.name} on an agent`} size="lg">
      <RunForm key={`${script.id}-${script.version}`} script={script} onDone={props.onClose} />
    </Modal>
  );
}
