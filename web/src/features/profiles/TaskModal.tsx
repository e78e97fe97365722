import { Button, Group, Modal, NumberInput, Select, Stack, Switch, TextInput } from '@mantine/core';
import { useState } from 'react';
import { CodeTextarea } from '../../shell/CodeTextarea';
import { useScripts } from '../scripts/queries';
import { SecretEnvEditor, secretEnvOf, secretVarsOf, type SecretVar } from './SecretEnvEditor';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import {
  TASK_ACTIONS,
  useCreateTask,
  useUpdateTask,
  type ProfileKind,
  type Task,
  type TaskAction,
  type TaskInput,
} from './queries';

type Interpreter = NonNullable<TaskInput['interpreter']>;
const INTERPRETERS: Interpreter[] = ['sh', 'bash', 'powershell', 'pwsh', 'cmd', 'python'];
const FIELDS = [
  'name',
  'description',
  'action',
  'script_id',
  'content',
  'interpreter',
  'parameters',
  'source_url',
  'destination',
  'timeout_seconds',
  'max_attempts',
] as const;

interface Draft {
  name: string;
  description: string;
  action: TaskAction;
  interpreter: Interpreter;
  content: string;
  scriptId: string | null;
  parameters: string;
  sourceUrl: string;
  destination: string;
  continueOnError: boolean;
  timeout: number | string;
  maxAttempts: number | string;
  secretEnv: SecretVar[];
}

function draftOf(task: Task | undefined): Draft {
  return {
    name: task?.name ?? '',
    description: task?.description ?? '',
    action: task?.action ?? 'command',
    interpreter: task?.interpreter ?? 'sh',
    content: task?.content ?? '',
    scriptId: task?.script_id ?? null,
    parameters: task && Object.keys(task.parameters).length ? JSON.stringify(task.parameters, null, 2) : '',
    sourceUrl: task?.source_url ?? '',
    destination: task?.destination ?? '',
    continueOnError: task?.continue_on_error ?? false,
    timeout: task?.timeout_seconds ?? '',
    maxAttempts: task?.max_attempts ?? '',
    secretEnv: secretVarsOf(task?.secret_env ?? {}),
  };
}

/** The body for the draft's action only: the server drops, or refuses, fields an action does not use. */
function bodyOf(draft: Draft): TaskInput {
  const body: TaskInput = {
    name: draft.name.trim(),
    description: draft.description,
    action: draft.action,
    continue_on_error: draft.continueOnError,
  };
  if (typeof draft.timeout === 'number') body.timeout_seconds = draft.timeout;
  if (typeof draft.maxAttempts === 'number') body.max_attempts = draft.maxAttempts;
  switch (draft.action) {
    case 'command':
      return {
        ...body,
        interpreter: draft.interpreter,
        content: draft.content,
        secret_env: secretEnvOf(draft.secretEnv),
      };
    case 'script':
      return {
        ...body,
        secret_env: secretEnvOf(draft.secretEnv),
        script_id: draft.scriptId ?? '',
        parameters: draft.parameters.trim() ? (JSON.parse(draft.parameters) as TaskInput['parameters']) : {},
      };
    case 'file_copy':
      return {
        ...body,
        destination: draft.destination,
        ...(draft.sourceUrl.trim() ? { source_url: draft.sourceUrl.trim() } : { content: draft.content }),
      };
    case 'reboot':
      return body;
  }
}

function parametersError(draft: Draft): string | undefined {
  if (draft.action !== 'script' || !draft.parameters.trim()) return undefined;
  try {
    const value: unknown = JSON.parse(draft.parameters);
    return value && typeof value === 'object' && !Array.isArray(value) ? undefined : 'a JSON object';
  } catch {
    return 'not valid JSON';
  }
}

/**
 * Adds a task (no `task`) or edits one. Each action shows its own fields; the server's refusal
 * keeps the form open with each message under its input.
 */
export function TaskModal(props: {
  kind: ProfileKind;
  profileId: string;
  task?: Task;
  opened: boolean;
  onClose: () => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(props.task));
  const [scriptSearch, setScriptSearch] = useState('');
  const scripts = useScripts({ kind: 'script', q: scriptSearch || undefined }, undefined);
  const create = useCreateTask(props.kind, props.profileId);
  const update = useUpdateTask(props.kind, props.profileId);
  const saving = props.task ? update : create;
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const errors = fieldErrorsOf(saving.error);
  const jsonProblem = parametersError(draft);

  const close = () => {
    props.onClose();
    saving.reset();
  };
  const submit = () => {
    const body = bodyOf(draft);
    if (props.task) update.mutate({ taskId: props.task.id, body }, { onSuccess: close });
    else create.mutate(body, { onSuccess: close });
  };
  const scriptOptions = (scripts.data?.items ?? []).map((script) => ({
    value: script.id,
    label: script.name,
  }));
  // the chosen script stays choosable while a search hides it
  if (draft.scriptId && !scriptOptions.some((option) => option.value === draft.scriptId))
    scriptOptions.push({ value: draft.scriptId, label: draft.scriptId });

  return (
    <Modal opened={props.opened} onClose={close} title={props.task ? 'Edit task' : 'Add a task'} size="lg">
      <Stack>
        <TextInput
          label="Task name"
          required
          data-autofocus
          value={draft.name}
          onChange={(e) => set('name', e.currentTarget.value)}
          error={errorUnder(errors, 'name')}
        />
        <TextInput
          label="Task description"
          value={draft.description}
          onChange={(e) => set('description', e.currentTarget.value)}
          error={errorUnder(errors, 'description')}
        />
        <Select
          label="Action"
          data={TASK_ACTIONS}
          allowDeselect={false}
          value={draft.action}
          onChange={(value) => value && set('action', value)}
          error={errorUnder(errors, 'action')}
        />
        {draft.action === 'command' && (
          <>
            <Select
              label="Interpreter"
              data={INTERPRETERS}
              allowDeselect={false}
              value={draft.interpreter}
              onChange={(value) => value && set('interpreter', value)}
              error={errorUnder(errors, 'interpreter')}
            />
            <CodeTextarea
              label="Command"
              required
              value={draft.content}
              onChange={(e) => set('content', e.currentTarget.value)}
              error={errorUnder(errors, 'content')}
            />
          </>
        )}
        {draft.action === 'script' && (
          <>
            <Select
              label="Script"
              required
              searchable
              searchValue={scriptSearch}
              onSearchChange={setScriptSearch}
              filter={({ options }) => options}
              data={scriptOptions}
              value={draft.scriptId}
              onChange={(value) => set('scriptId', value)}
              nothingFoundMessage="No script found"
              error={errorUnder(errors, 'script_id')}
            />
            <CodeTextarea
              label="Parameters"
              description='A JSON object of the script&apos;s parameters, e.g. {"version": "1.2"}'
              minRows={2}
              value={draft.parameters}
              onChange={(e) => set('parameters', e.currentTarget.value)}
              error={jsonProblem ?? errorUnder(errors, 'parameters')}
            />
          </>
        )}
        {draft.action === 'file_copy' && (
          <>
            <TextInput
              label="Destination"
              description="An absolute path on the agent"
              required
              value={draft.destination}
              onChange={(e) => set('destination', e.currentTarget.value)}
              error={errorUnder(errors, 'destination')}
            />
            <TextInput
              label="Source URL"
              description="Fetched by the agent; leave empty to write the content below"
              value={draft.sourceUrl}
              onChange={(e) => set('sourceUrl', e.currentTarget.value)}
              error={errorUnder(errors, 'source_url')}
            />
            {!draft.sourceUrl.trim() && (
              <CodeTextarea
                label="Content"
                value={draft.content}
                onChange={(e) => set('content', e.currentTarget.value)}
                error={errorUnder(errors, 'content')}
              />
            )}
          </>
        )}
        <Group grow align="flex-start">
          <NumberInput
            label="Timeout (seconds)"
            allowDecimal={false}
            min={1}
            value={draft.timeout}
            onChange={(value) => set('timeout', value)}
            error={errorUnder(errors, 'timeout_seconds')}
          />
          <NumberInput
            label="Max attempts"
            allowDecimal={false}
            min={1}
            value={draft.maxAttempts}
            onChange={(value) => set('maxAttempts', value)}
            error={errorUnder(errors, 'max_attempts')}
          />
        </Group>
        {(draft.action === 'command' || draft.action === 'script') && (
          <SecretEnvEditor
            value={draft.secretEnv}
            onChange={(value) => set('secretEnv', value)}
            errorOf={(name) => errors[`secret_env.${name}`]}
          />
        )}
        <Switch
          label="Continue on error"
          description="When this task fails, the next ones still run on that agent"
          checked={draft.continueOnError}
          onChange={(e) => set('continueOnError', e.currentTarget.checked)}
        />
        <RefusalAlert error={saving.error} shown={FIELDS} />
        <Group justify="flex-end">
          <Button
            onClick={submit}
            loading={saving.isPending}
            disabled={!draft.name.trim() || Boolean(jsonProblem)}
          >
            {props.task ? 'Save task' : 'Add task'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
