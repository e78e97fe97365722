import { Button, Group, Loader, Modal, Select, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { emptyTarget, ExecuteTargetInput, targetOf, type TargetDraft } from './ExecuteTargetInput';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { initialTexts, parameterValues, ParameterValuesForm } from './ParameterValuesForm';
import { useExecuteScript, useScript, useScripts, type Script } from './queries';

function ScriptPicker({ value, onChange }: { value: string | null; onChange: (id: string | null) => void }) {
  const [search, setSearch] = useState('');
  const scripts = useScripts({ q: search || undefined }, undefined);
  return (
    <Select
      label="Script or saved command"
      required
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options }) => options}
      data={(scripts.data?.items ?? []).map((script) => ({
        value: script.id,
        label: script.kind === 'command' ? `${script.name} (command)` : script.name,
      }))}
      value={value}
      onChange={onChange}
      nothingFoundMessage="None found"
    />
  );
}

/** The form for one script: its parameters, the target unless agents were given, and Execute. */
function ExecuteForm(props: { script: Script; agentIds: string[]; onDone: () => void }) {
  const { script, agentIds } = props;
  const navigate = useNavigate();
  const [texts, setTexts] = useState(() => initialTexts(script.parameters));
  const [draft, setDraft] = useState<TargetDraft>(emptyTarget);
  const execute = useExecuteScript();
  const target = agentIds.length > 0 ? { agent_ids: agentIds } : targetOf(draft);

  const submit = () => {
    if (!target) return;
    execute.mutate(
      { id: script.id, body: { target, parameters: parameterValues(script.parameters, texts) } },
      {
        onSuccess: (run) => {
          props.onDone();
          void navigate(`/runs/${run.id}`);
        },
      },
    );
  };

  return (
    <Stack>
      {agentIds.length > 0 ? (
        <Text size="sm">On the {agentIds.length} selected agent(s).</Text>
      ) : (
        <ExecuteTargetInput draft={draft} onChange={setDraft} />
      )}
      <ParameterValuesForm
        definitions={script.parameters}
        texts={texts}
        onChange={setTexts}
        errors={fieldErrorsOf(execute.error)}
      />
      <RefusalAlert error={execute.error} />
      <Group justify="flex-end">
        <Button onClick={submit} loading={execute.isPending} disabled={!target}>
          Execute
        </Button>
      </Group>
    </Stack>
  );
}

/**
 * Executes a script on a target set (a run), then shows the run. Given `agentIds` (a selection on
 * the agents page) those are the target; otherwise the form asks for one. Given no `script`, it
 * asks which. Closing forgets what was typed, secrets included (the form unmounts).
 */
export function ExecuteScriptModal(props: {
  agentIds: string[];
  opened: boolean;
  onClose: () => void;
  script?: Script;
}) {
  const [pickedId, setPickedId] = useState<string | null>(null);
  const picked = useScript(props.script ? '' : (pickedId ?? ''));
  const script = props.script ?? (pickedId ? picked.data : undefined);
  const close = () => {
    setPickedId(null);
    props.onClose();
  };

  return (
    <Modal
      opened={props.opened}
      onClose={close}
      title={script ? `Execute ${script.name}` : 'Run a script'}
      size="lg"
    >
      <Stack>
        {!props.script && <ScriptPicker value={pickedId} onChange={setPickedId} />}
        {pickedId && picked.isPending && <Loader size="sm" />}
        {script && (
          <ExecuteForm
            key={`${script.id}-${script.version}`}
            script={script}
            agentIds={props.agentIds}
            onDone={close}
          />
        )}
      </Stack>
    </Modal>
  );
}
