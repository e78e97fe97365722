import {
  Button,
  Code,
  Group,
  JsonInput,
  NumberInput,
  Select,
  Spoiler,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useState } from 'react';
import { fieldErrorsOf, RefusalAlert, type FieldErrors } from '../../shell/refusal';
import {
  usePackageVersions,
  type EntryPoint,
  type PackageVersion,
  type Process,
  type ProcessBody,
} from './queries';

/** The version picker's value for "no version: the latest active one". */
const LATEST = 'latest';

interface ProcessDraft {
  name: string;
  description: string;
  packageName: string | null;
  version: string;
  entryPoint: string | null;
  input: string;
  timeout: number | string;
  maxAttempts: number | string;
  retryDelay: number | string;
  pool: string;
  assets: string[];
}

function draftOf(process: Process | undefined): ProcessDraft {
  return {
    name: process?.name ?? '',
    description: process?.description ?? '',
    packageName: process?.package_name ?? null,
    version: process?.package_version ?? LATEST,
    entryPoint: process?.entry_point ?? null,
    input: JSON.stringify(process?.default_input ?? {}, null, 2),
    timeout: process?.timeout_seconds ?? 3600,
    maxAttempts: process?.max_attempts ?? 1,
    retryDelay: process?.retry_delay_seconds ?? 0,
    pool: process?.robot_pool ?? '',
    assets: process?.assets ?? [],
  };
}

/** The default input as an object, or why it is not one. */
function parseInput(text: string): { input: Record<string, unknown> } | { problem: string } {
  try {
    const value: unknown = JSON.parse(text.trim() === '' ? '{}' : text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return { input: value as Record<string, unknown> };
    return { problem: 'the default input is a JSON object: { "name": value, … }' };
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
}

/** The entry points a choice of version offers: for "latest active", those of any active version. */
function entryPointsOf(versions: PackageVersion[], version: string): EntryPoint[] {
  const candidates =
    version === LATEST ? versions.filter((v) => v.active) : versions.filter((v) => v.version === version);
  const byName = new Map<string, EntryPoint>();
  for (const candidate of candidates)
    for (const entry of candidate.entry_points) byName.set(entry.name, entry);
  return [...byName.values()];
}

/** The server's per-field refusals of the default input (`default_input/<pointer>`), one line each. */
function inputErrors(errors: FieldErrors): string | undefined {
  const lines = Object.entries(errors)
    .filter(([field]) => field === 'default_input' || field.startsWith('default_input/'))
    .map(([field, message]) => `${field.slice('default_input'.length) || '/'}: ${message}`);
  return lines.length > 0 ? lines.join('; ') : undefined;
}

/** The fields an input of the form shows the server's message under. */
const SHOWN = [
  'name',
  'description',
  'package_name',
  'package_version',
  'entry_point',
  'timeout_seconds',
  'max_attempts',
  'retry_delay_seconds',
  'robot_pool',
  'assets',
];

/**
 * A process's definition: its package (by name, a version or the latest active one), an entry
 * point of it, the default input (JSON, checked here as JSON and by the server against the entry
 * point's input_schema), timeout, retries, robot pool and credential assets. A refusal stays on
 * the form, each field's message under its input.
 */
export function ProcessForm(props: {
  process?: Process;
  readOnly: boolean;
  pending: boolean;
  error: Error | null;
  submitLabel: string;
  onSubmit: (body: ProcessBody) => void;
}) {
  const { process, readOnly } = props;
  const [draft, setDraft] = useState(() => draftOf(process));
  const packages = usePackageVersions();
  const set = <K extends keyof ProcessDraft>(key: K, value: ProcessDraft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const errors = fieldErrorsOf(props.error);
  const parsed = parseInput(draft.input);

  const all = packages.data?.items ?? [];
  const names = [...new Set(all.map((p) => p.name))].sort();
  if (draft.packageName && !names.includes(draft.packageName)) names.unshift(draft.packageName);
  const versions = all.filter((p) => p.name === draft.packageName);
  const versionOptions = [
    { value: LATEST, label: 'Latest active' },
    ...versions.map((v) => ({ value: v.version, label: v.active ? v.version : `${v.version} (inactive)` })),
  ];
  if (draft.version !== LATEST && !versions.some((v) => v.version === draft.version))
    versionOptions.push({ value: draft.version, label: draft.version });
  const entries = entryPointsOf(versions, draft.version);
  const entryOptions = entries.map((e) => ({ value: e.name, label: `${e.name} (${e.language}, ${e.path})` }));
  if (draft.entryPoint && !entries.some((e) => e.name === draft.entryPoint))
    entryOptions.push({ value: draft.entryPoint, label: draft.entryPoint });
  const schema = entries.find((e) => e.name === draft.entryPoint)?.input_schema;

  const submit = () => {
    if ('problem' in parsed || !draft.packageName || !draft.entryPoint) return;
    props.onSubmit({
      name: draft.name.trim(),
      description: draft.description,
      package_name: draft.packageName,
      package_version: draft.version === LATEST ? null : draft.version,
      entry_point: draft.entryPoint,
      default_input: parsed.input,
      timeout_seconds: Number(draft.timeout),
      max_attempts: Number(draft.maxAttempts),
      retry_delay_seconds: Number(draft.retryDelay),
      robot_pool: draft.pool.trim() === '' ? null : draft.pool.trim(),
      assets: draft.assets,
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
      <Group grow align="flex-start">
        <Select
          label="Package"
          required
          searchable
          data={names}
          value={draft.packageName}
          onChange={(name) =>
            setDraft((d) => ({ ...d, packageName: name, version: LATEST, entryPoint: null }))
          }
          error={errors['package_name']}
          disabled={readOnly}
          nothingFoundMessage={packages.isPending ? 'Loading…' : 'No package: upload one first'}
        />
        <Select
          label="Version"
          data={versionOptions}
          value={draft.version}
          onChange={(version) => set('version', version ?? LATEST)}
          allowDeselect={false}
          error={errors['package_version']}
          disabled={readOnly || !draft.packageName}
        />
        <Select
          label="Entry point"
          required
          data={entryOptions}
          value={draft.entryPoint}
          onChange={(entry) => set('entryPoint', entry)}
          error={errors['entry_point']}
          disabled={readOnly || !draft.packageName}
        />
      </Group>
      <JsonInput
        label="Default input"
        description="A JSON object; a job's own input is laid over it, key by key"
        autosize
        minRows={4}
        formatOnBlur
        value={draft.input}
        onChange={(text) => set('input', text)}
        error={'problem' in parsed ? parsed.problem : inputErrors(errors)}
        disabled={readOnly}
      />
      {schema && (
        <Stack gap={4}>
          <Text size="sm">Input schema of this entry point</Text>
          <Spoiler maxHeight={96} showLabel="Show the whole schema" hideLabel="Hide">
            <Code block data-testid="input-schema">
              {JSON.stringify(schema, null, 2)}
            </Code>
          </Spoiler>
        </Stack>
      )}
      <Group grow align="flex-start">
        <NumberInput
          label="Timeout (seconds)"
          min={1}
          max={86_400}
          value={draft.timeout}
          onChange={(value) => set('timeout', value)}
          error={errors['timeout_seconds']}
          disabled={readOnly}
        />
        <NumberInput
          label="Attempts"
          description="1: never retried"
          min={1}
          max={10}
          value={draft.maxAttempts}
          onChange={(value) => set('maxAttempts', value)}
          error={errors['max_attempts']}
          disabled={readOnly}
        />
        <NumberInput
          label="Retry delay (seconds)"
          min={0}
          max={3600}
          value={draft.retryDelay}
          onChange={(value) => set('retryDelay', value)}
          error={errors['retry_delay_seconds']}
          disabled={readOnly}
        />
      </Group>
      <Group grow align="flex-start">
        <TextInput
          label="Robot pool"
          description="Empty: any robot of the organisation"
          value={draft.pool}
          onChange={(e) => set('pool', e.currentTarget.value)}
          error={errors['robot_pool']}
          disabled={readOnly}
        />
        <TagsInput
          label="Credential assets"
          description="Names of the assets its jobs read"
          value={draft.assets}
          onChange={(assets) => set('assets', assets)}
          maxTags={50}
          error={errors['assets']}
          disabled={readOnly}
        />
      </Group>
      <RefusalAlert error={props.error} shown={SHOWN} />
      {!readOnly && (
        <Group justify="flex-end">
          <Button
            onClick={submit}
            loading={props.pending}
            disabled={
              draft.name.trim() === '' || !draft.packageName || !draft.entryPoint || 'problem' in parsed
            }
          >
            {props.submitLabel}
          </Button>
        </Group>
      )}
    </Stack>
  );
}
