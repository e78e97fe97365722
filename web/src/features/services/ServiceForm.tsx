import {
  Button,
  Checkbox,
  Fieldset,
  Group,
  Input,
  JsonInput,
  Loader,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { lazy, Suspense, useState } from 'react';
import { CodeTextarea } from '../../shell/CodeTextarea';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { parseEnvLines } from './DeployModal';
import { SecretEnvEditor, secretEnvOf, secretVarsOf, type SecretVar } from '../profiles/SecretEnvEditor';
import type { ScriptLanguage } from '../scripts/queries';
import {
  INTERPRETERS,
  OS_TYPES,
  useAgentChoices,
  useGroupChoices,
  type Interpreter,
  type OsType,
  type Rollout,
  type RunsOn,
  type Service,
  type ServiceBody,
} from './queries';

const CodeEditor = lazy(() => import('../scripts/CodeEditor'));

type Where = RunsOn['type'];
type Count = number | string;

interface ServiceDraft {
  name: string;
  description: string;
  interpreter: Interpreter;
  content: string;
  steps: string[];
  where: Where;
  agentId: string | null;
  tags: string[];
  groupId: string | null;
  osType: OsType | null;
  all: boolean;
  batchSize: Count;
  batchPercent: Count;
  canary: Count;
  pauseSeconds: Count;
  manualContinue: boolean;
  maxFailures: Count;
  maxFailurePercent: Count;
  env: string;
  secretEnv: SecretVar[];
  configSchema: string;
  timeout: Count;
}

const STARTER = [
  '#!/usr/bin/env bash',
  'set -euo pipefail',
  '# report a step: POST $FP_SERVER_URL/api/v1/steps with $FP_DEPLOYMENT_TOKEN',
  'echo "deploying"',
  '',
].join('\n');

function draftOf(service: Service | undefined): ServiceDraft {
  const runsOn = service?.runs_on;
  const selector = runsOn?.type === 'selector' ? runsOn.selector : undefined;
  const rollout = service?.rollout;
  return {
    name: service?.name ?? '',
    description: service?.description ?? '',
    interpreter: INTERPRETERS.find((i) => i === service?.script.interpreter) ?? 'bash',
    content: service?.script.content ?? STARTER,
    steps: service?.steps ?? [],
    where: runsOn?.type ?? 'agent',
    agentId: runsOn?.type === 'agent' ? runsOn.agent_id : null,
    tags: selector?.tags ?? [],
    groupId: selector?.group_id ?? null,
    osType: selector?.os_type ?? null,
    all: selector?.all ?? false,
    batchSize: rollout?.batch_size ?? '',
    batchPercent: rollout?.batch_percent ?? '',
    canary: rollout?.canary ?? 0,
    pauseSeconds: rollout?.pause_seconds ?? 0,
    manualContinue: rollout?.manual_continue ?? false,
    maxFailures: rollout?.max_failures ?? '',
    maxFailurePercent: rollout?.max_failure_percent ?? '',
    env: Object.entries(service?.env ?? {})
      .map(([name, value]) => `${name}=${value}`)
      .join('\n'),
    secretEnv: secretVarsOf(service?.secret_env ?? {}),
    configSchema: service?.config_schema ? JSON.stringify(service.config_schema, null, 2) : '',
    timeout: service?.timeout_seconds ?? 3600,
  };
}

/** The editor's highlighting for an interpreter: pwsh is PowerShell; node has none (plain text). */
function languageOf(interpreter: Interpreter): ScriptLanguage {
  if (interpreter === 'pwsh') return 'powershell';
  // cmd has no grammar in the editor: plain text, as node needs
  if (interpreter === 'node') return 'cmd';
  return interpreter;
}

/** The config schema: empty for none, else a JSON object. */
function parseSchema(text: string): { schema: Record<string, unknown> | null } | { problem: string } {
  if (text.trim() === '') return { schema: null };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const schema: Record<string, unknown> = { ...value };
      return { schema };
    }
    return { problem: 'a JSON Schema is a JSON object' };
  } catch (error) {
    return { problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const optional = (value: Count) => (value === '' ? undefined : Number(value));

function runsOnOf(draft: ServiceDraft): RunsOn {
  if (draft.where === 'server') return { type: 'server' };
  if (draft.where === 'agent') return { type: 'agent', agent_id: draft.agentId ?? '' };
  return {
    type: 'selector',
    selector: {
      ...(draft.tags.length > 0 ? { tags: draft.tags } : {}),
      ...(draft.groupId ? { group_id: draft.groupId } : {}),
      ...(draft.osType ? { os_type: draft.osType } : {}),
      ...(draft.all ? { all: true } : {}),
    },
  };
}

function rolloutOf(draft: ServiceDraft): Rollout {
  return {
    batch_size: optional(draft.batchSize),
    batch_percent: optional(draft.batchPercent),
    canary: optional(draft.canary),
    pause_seconds: optional(draft.pauseSeconds),
    manual_continue: draft.manualContinue,
    max_failures: optional(draft.maxFailures),
    max_failure_percent: optional(draft.maxFailurePercent),
  };
}

/** The fields an input of the form shows the server's message under. */
const SHOWN = [
  'name',
  'description',
  'script',
  'steps',
  'runs_on',
  'rollout',
  'env',
  'secret_env',
  'config_schema',
  'timeout_seconds',
];

/**
 * A service's definition: its deploy script (interpreter and code), the steps it reports, where
 * it runs (the server, one agent, or the agents a selector matches, batch by batch), its
 * environment, secrets, the JSON Schema of the config it publishes and its timeout. A refusal
 * stays on the form, each field's message under its input.
 */
export function ServiceForm(props: {
  service?: Service;
  readOnly: boolean;
  pending: boolean;
  error: Error | null;
  submitLabel: string;
  onSubmit: (body: ServiceBody) => void;
}) {
  const { readOnly } = props;
  const [draft, setDraft] = useState(() => draftOf(props.service));
  const agents = useAgentChoices();
  const groups = useGroupChoices();
  const set = <K extends keyof ServiceDraft>(key: K, value: ServiceDraft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const errors = fieldErrorsOf(props.error);
  const env = parseEnvLines(draft.env);
  const schema = parseSchema(draft.configSchema);

  const agentOptions = (agents.data?.items ?? []).map((agent) => ({
    value: agent.id,
    label: `${agent.name} (${agent.status})`,
  }));
  if (draft.agentId && !agentOptions.some((option) => option.value === draft.agentId))
    agentOptions.push({ value: draft.agentId, label: draft.agentId });
  const groupOptions = (groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name }));

  const incomplete =
    draft.name.trim() === '' ||
    draft.content.trim() === '' ||
    (draft.where === 'agent' && !draft.agentId) ||
    'problem' in env ||
    'problem' in schema;

  const submit = () => {
    if ('problem' in env || 'problem' in schema) return;
    props.onSubmit({
      name: draft.name.trim(),
      description: draft.description,
      script: { interpreter: draft.interpreter, content: draft.content },
      steps: draft.steps,
      runs_on: runsOnOf(draft),
      ...(draft.where === 'selector' ? { rollout: rolloutOf(draft) } : {}),
      env: env.env,
      secret_env: secretEnvOf(draft.secretEnv),
      config_schema: schema.schema,
      timeout_seconds: Number(draft.timeout),
    });
  };

  return (
    <Stack>
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => set('name', e.currentTarget.value)}
        error={errors['name']}
        disabled={readOnly}
      />
      <Textarea
        label="Description"
        autosize
        minRows={2}
        value={draft.description}
        onChange={(e) => set('description', e.currentTarget.value)}
        error={errors['description']}
        disabled={readOnly}
      />
      <Select
        label="Interpreter"
        data={INTERPRETERS}
        value={draft.interpreter}
        onChange={(value) => set('interpreter', INTERPRETERS.find((i) => i === value) ?? draft.interpreter)}
        allowDeselect={false}
        w={200}
        disabled={readOnly}
      />
      <Input.Wrapper
        label="Deploy script"
        description="Runs with FP_SERVER_URL, FP_DEPLOYMENT_ID and FP_DEPLOYMENT_TOKEN in its environment"
        error={errorUnder(errors, 'script')}
      >
        <Suspense fallback={<Loader size="sm" />}>
          <CodeEditor
            value={draft.content}
            onChange={(content) => set('content', content)}
            language={languageOf(draft.interpreter)}
            label="Deploy script"
            readOnly={readOnly}
          />
        </Suspense>
      </Input.Wrapper>
      <TagsInput
        label="Steps"
        description="The step names the script reports, in order (Enter after each)"
        value={draft.steps}
        onChange={(steps) => set('steps', steps)}
        error={errorUnder(errors, 'steps')}
        disabled={readOnly}
      />
      <Fieldset legend="Runs on">
        <Stack>
          <SegmentedControl
            aria-label="Runs on"
            data={[
              { value: 'server', label: 'The server' },
              { value: 'agent', label: 'One agent' },
              { value: 'selector', label: 'Agents matching a selector' },
            ]}
            value={draft.where}
            onChange={(value) => set('where', value === 'server' || value === 'selector' ? value : 'agent')}
            disabled={readOnly}
          />
          {draft.where === 'agent' && (
            <Select
              label="Agent"
              required
              searchable
              data={agentOptions}
              value={draft.agentId}
              onChange={(value) => set('agentId', value)}
              error={errorUnder(errors, 'runs_on')}
              disabled={readOnly}
            />
          )}
          {draft.where === 'selector' && (
            <>
              <Group grow align="flex-start">
                <TagsInput
                  label="Tags"
                  description="Agents with all of them"
                  value={draft.tags}
                  onChange={(tags) => set('tags', tags)}
                  disabled={readOnly}
                />
                <Select
                  label="Group"
                  clearable
                  data={groupOptions}
                  value={draft.groupId}
                  onChange={(value) => set('groupId', value)}
                  disabled={readOnly}
                />
                <Select
                  label="OS"
                  clearable
                  data={OS_TYPES}
                  value={draft.osType}
                  onChange={(value) => set('osType', OS_TYPES.find((os) => os === value) ?? null)}
                  disabled={readOnly}
                />
              </Group>
              <Checkbox
                label="Every agent (no other condition)"
                checked={draft.all}
                onChange={(e) => set('all', e.currentTarget.checked)}
                disabled={readOnly}
              />
              {errorUnder(errors, 'runs_on') && <Input.Error>{errorUnder(errors, 'runs_on')}</Input.Error>}
              <Group grow align="flex-start">
                <NumberInput
                  label="Batch size"
                  description="Agents per batch"
                  min={1}
                  value={draft.batchSize}
                  onChange={(value) => set('batchSize', value)}
                  disabled={readOnly}
                />
                <NumberInput
                  label="Batch percent"
                  description="Or a share of them (not both)"
                  min={1}
                  max={100}
                  value={draft.batchPercent}
                  onChange={(value) => set('batchPercent', value)}
                  disabled={readOnly}
                />
                <NumberInput
                  label="Canary"
                  description="Agents in a first batch"
                  min={0}
                  value={draft.canary}
                  onChange={(value) => set('canary', value)}
                  disabled={readOnly}
                />
                <NumberInput
                  label="Pause (seconds)"
                  description="Between batches"
                  min={0}
                  value={draft.pauseSeconds}
                  onChange={(value) => set('pauseSeconds', value)}
                  disabled={readOnly}
                />
              </Group>
              <Group grow align="flex-start">
                <NumberInput
                  label="Max failures"
                  description="Empty: no limit"
                  min={0}
                  value={draft.maxFailures}
                  onChange={(value) => set('maxFailures', value)}
                  disabled={readOnly}
                />
                <NumberInput
                  label="Max failure percent"
                  description="Empty: no limit"
                  min={0}
                  max={100}
                  value={draft.maxFailurePercent}
                  onChange={(value) => set('maxFailurePercent', value)}
                  disabled={readOnly}
                />
                <Checkbox
                  mt="xl"
                  label="Wait for Continue between batches"
                  checked={draft.manualContinue}
                  onChange={(e) => set('manualContinue', e.currentTarget.checked)}
                  disabled={readOnly}
                />
              </Group>
              {errorUnder(errors, 'rollout') && <Input.Error>{errorUnder(errors, 'rollout')}</Input.Error>}
            </>
          )}
        </Stack>
      </Fieldset>
      <CodeTextarea
        label="Environment"
        description="NAME=value, one a line; values under secret-looking names read ********"
        value={draft.env}
        onChange={(e) => set('env', e.currentTarget.value)}
        error={'problem' in env ? env.problem : errorUnder(errors, 'env')}
        disabled={readOnly}
      />
      {readOnly && draft.secretEnv.length > 0 && (
        <Input.Wrapper label="Secret environment variables" description="Values are never shown">
          <Text size="sm">{draft.secretEnv.map((item) => item.name).join(', ')}</Text>
        </Input.Wrapper>
      )}
      {!readOnly && (
        <SecretEnvEditor
          value={draft.secretEnv}
          onChange={(secretEnv) => set('secretEnv', secretEnv)}
          errorOf={(name) => errors[`secret_env.${name}`]}
        />
      )}
      <JsonInput
        label="Config schema"
        description="JSON Schema of the config a deployment publishes; empty: none"
        autosize
        minRows={3}
        formatOnBlur
        value={draft.configSchema}
        onChange={(text) => set('configSchema', text)}
        error={'problem' in schema ? schema.problem : errorUnder(errors, 'config_schema')}
        disabled={readOnly}
      />
      <NumberInput
        label="Timeout (seconds)"
        description="Per machine"
        min={1}
        max={86_400}
        value={draft.timeout}
        onChange={(value) => set('timeout', value)}
        error={errors['timeout_seconds']}
        w={200}
        disabled={readOnly}
      />
      <RefusalAlert error={props.error} shown={SHOWN} />
      {!readOnly && (
        <Group justify="flex-end">
          <Button onClick={submit} loading={props.pending} disabled={incomplete}>
            {props.submitLabel}
          </Button>
        </Group>
      )}
    </Stack>
  );
}
