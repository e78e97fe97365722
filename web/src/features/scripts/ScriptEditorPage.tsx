import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Input,
  Loader,
  SegmentedControl,
  Select,
  Stack,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { lazy, Suspense, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, DONE_HERE, useConfirmLeave } from '../../shell/confirm';
import { ExecuteScriptModal } from './ExecuteScriptModal';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { definitionOf, draftOf, type ParameterDraft } from './parameterDrafts';
import { ParametersEditor } from './ParametersEditor';
import {
  SCRIPT_LANGUAGES,
  useCreateScript,
  useDeleteScript,
  useScript,
  useUpdateScript,
  type Script,
  type ScriptCreateBody,
  type ScriptKind,
  type ScriptLanguage,
} from './queries';
import { RunScriptModal } from './RunScriptModal';
import { VersionsPanel } from './VersionsPanel';

const CodeEditor = lazy(() => import('./CodeEditor'));

interface ScriptDraft {
  name: string;
  description: string;
  kind: ScriptKind;
  language: ScriptLanguage;
  content: string;
  parameters: ParameterDraft[];
}

function draftOfScript(script: Script | undefined): ScriptDraft {
  if (!script)
    return { name: '', description: '', kind: 'script', language: 'bash', content: '', parameters: [] };
  return {
    name: script.name,
    description: script.description,
    kind: script.kind,
    language: script.language,
    content: script.content,
    parameters: script.parameters.map(draftOf),
  };
}

function bodyOf(draft: ScriptDraft): ScriptCreateBody {
  return {
    name: draft.name.trim(),
    description: draft.description,
    kind: draft.kind,
    language: draft.language,
    content: draft.content,
    parameters: draft.parameters.map(definitionOf),
  };
}

/** Run, execute and delete, for whoever may; none of them for a viewer. */
function ScriptActions({ script }: { script: Script }) {
  const navigate = useNavigate();
  const canExecute = usePermission('scripts:execute');
  const canDelete = usePermission('scripts:delete');
  const [running, runModal] = useDisclosure();
  const [executing, executeModal] = useDisclosure();
  const remove = useDeleteScript();
  const confirmDelete = () =>
    confirmDestructive({
      title: `Delete ${script.name}?`,
      body: 'The script and all its versions go; the jobs and runs it started stay.',
      confirm: 'Delete',
      run: async () => {
        await remove.mutateAsync(script.id);
        void navigate('/scripts', { state: DONE_HERE });
      },
    });
  return (
    <Group>
      {canExecute && (
        <>
          <Button variant="light" onClick={runModal.open}>
            Run on an agent
          </Button>
          <Button onClick={executeModal.open}>Execute on agents</Button>
          <RunScriptModal script={script} opened={running} onClose={runModal.close} />
          <ExecuteScriptModal script={script} agentIds={[]} opened={executing} onClose={executeModal.close} />
        </>
      )}
      {canDelete && (
        <Button color="red" variant="light" onClick={confirmDelete} loading={remove.isPending}>
          Delete
        </Button>
      )}
    </Group>
  );
}

/**
 * The form of a new script (`script` absent) or of one saved: a save of a change to its code,
 * language or parameters makes the server add a version. A refusal stays on the form, each field
 * error on its input.
 */
function ScriptForm({ script, readOnly }: { script?: Script; readOnly: boolean }) {
  const navigate = useNavigate();
  const [draft, setDraft] = useState(() => draftOfScript(script));
  const create = useCreateScript();
  const update = useUpdateScript(script?.id ?? '');
  const save = script ? update : create;
  const errors = fieldErrorsOf(save.error);
  const set = <K extends keyof ScriptDraft>(key: K, value: ScriptDraft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const saved = JSON.stringify(bodyOf(draftOfScript(script)));
  useConfirmLeave(!readOnly && JSON.stringify(bodyOf(draft)) !== saved);

  const submit = () => {
    const body = bodyOf(draft);
    if (!script)
      create.mutate(body, {
        onSuccess: (created) => void navigate(`/scripts/${created.id}`, { replace: true, state: DONE_HERE }),
      });
    else
      update.mutate(body, {
        onSuccess: (saved) =>
          notifications.show({ color: 'green', message: `${saved.name} saved (v${saved.version})` }),
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
      <Group align="flex-end">
        <Input.Wrapper label="Kind" error={errors['kind']}>
          <SegmentedControl
            aria-label="Kind"
            display="flex"
            data={[
              { value: 'script', label: 'Script' },
              { value: 'command', label: 'Saved command' },
            ]}
            value={draft.kind}
            onChange={(kind) => set('kind', kind === 'command' ? 'command' : 'script')}
            disabled={readOnly}
          />
        </Input.Wrapper>
        <Select
          label="Language"
          data={SCRIPT_LANGUAGES}
          value={draft.language}
          onChange={(value) => {
            const language = SCRIPT_LANGUAGES.find((l) => l === value);
            if (language) set('language', language);
          }}
          allowDeselect={false}
          error={errors['language']}
          disabled={readOnly}
          w={180}
        />
      </Group>
      <Input.Wrapper
        label={draft.kind === 'command' ? 'Command (one line)' : 'Code'}
        required
        error={errors['content']}
      >
        <Suspense fallback={<Loader size="sm" aria-label="Loading the editor" />}>
          <CodeEditor
            value={draft.content}
            onChange={(content) => set('content', content)}
            language={draft.language}
            label={draft.kind === 'command' ? 'Command' : 'Code'}
            readOnly={readOnly}
          />
        </Suspense>
      </Input.Wrapper>
      <ParametersEditor
        drafts={draft.parameters}
        onChange={(parameters) => set('parameters', parameters)}
        errors={errors}
        readOnly={readOnly}
      />
      <RefusalAlert error={save.error} />
      {!readOnly && (
        <Group justify="flex-end">
          <Button
            onClick={submit}
            loading={save.isPending}
            disabled={draft.name.trim() === '' || draft.content.trim() === ''}
          >
            {script ? 'Save' : 'Create'}
          </Button>
        </Group>
      )}
    </Stack>
  );
}

/** `/scripts/new` and `/scripts/:id`: the editor, the actions, and the versions. */
export function ScriptEditorPage() {
  const { id = '' } = useParams();
  const script = useScript(id);
  const canCreate = usePermission('scripts:create');
  const canUpdate = usePermission('scripts:update');

  const back = (
    <Anchor component={Link} to="/scripts" size="sm">
      ← Scripts
    </Anchor>
  );
  if (!id)
    return (
      <Stack>
        {back}
        <Title order={2}>New script</Title>
        {canCreate ? (
          <ScriptForm readOnly={false} />
        ) : (
          <Alert color="yellow">Your role cannot create scripts.</Alert>
        )}
      </Stack>
    );
  if (script.isPending) return <Loader />;
  if (script.error) return <Alert color="red">{script.error.message}</Alert>;
  const data = script.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <Badge variant="light">v{data.version}</Badge>
          <Badge variant="light" color={data.kind === 'command' ? 'grape' : 'blue'}>
            {data.kind}
          </Badge>
        </Group>
        <ScriptActions script={data} />
      </Group>
      <ScriptForm key={`${data.id}-${data.version}`} script={data} readOnly={!canUpdate} />
      <VersionsPanel key={`versions-${data.version}`} script={data} />
    </Stack>
  );
}
