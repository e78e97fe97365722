import {
  ActionIcon,
  Button,
  Checkbox,
  Group,
  Paper,
  Select,
  Stack,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core';
import type { FieldErrors } from '../../shell/refusal';
import { emptyDraft, moveItem, type ParameterDraft } from './parameterDrafts';
import { PARAMETER_TYPES } from './queries';

function DefaultInput({
  draft,
  error,
  disabled,
  onChange,
}: {
  draft: ParameterDraft;
  error: string | undefined;
  disabled: boolean;
  onChange: (text: string) => void;
}) {
  const label = `Default of ${draft.name || 'parameter'}`;
  if (draft.type === 'boolean' || draft.type === 'enum')
    return (
      <Select
        label="Default"
        aria-label={label}
        placeholder="None"
        data={draft.type === 'boolean' ? ['true', 'false'] : draft.values}
        value={draft.defaultText || null}
        onChange={(value) => onChange(value ?? '')}
        error={error}
        disabled={disabled}
        clearable
        w={150}
      />
    );
  return (
    <TextInput
      label="Default"
      aria-label={label}
      placeholder={draft.type === 'secret' ? 'Never for a secret' : 'None'}
      value={draft.defaultText}
      onChange={(e) => onChange(e.currentTarget.value)}
      error={error}
      disabled={disabled || draft.type === 'secret'}
      w={150}
    />
  );
}

/**
 * The script's typed parameters, one row each: added, removed and reordered here, checked by
 * the server on save (its per-field errors land on the row they name).
 */
export function ParametersEditor(props: {
  drafts: ParameterDraft[];
  onChange: (drafts: ParameterDraft[]) => void;
  errors: FieldErrors;
  readOnly: boolean;
}) {
  const { drafts, onChange, errors, readOnly } = props;
  const update = (index: number, patch: Partial<ParameterDraft>) =>
    onChange(drafts.map((draft, i) => (i === index ? { ...draft, ...patch } : draft)));
  const errorOf = (index: number, field: string) => errors[`parameters.${index}.${field}`];

  return (
    <Stack gap="xs">
      <Text fw={500} size="sm">
        Parameters
      </Text>
      <Text size="xs" c="dimmed">
        Each reaches the script as an environment variable: FP_PARAM_NAME, or FP_SECRET_NAME for a secret
        (masked by the API, never given a default).
      </Text>
      {drafts.length === 0 && (
        <Text size="sm" c="dimmed">
          No parameter.
        </Text>
      )}
      {drafts.map((draft, index) => (
        <Paper key={draft.key} withBorder p="xs" data-testid="parameter-row">
          <Group align="flex-start" wrap="wrap" gap="xs">
            <TextInput
              label="Name"
              aria-label={`Parameter ${index + 1} name`}
              value={draft.name}
              onChange={(e) => update(index, { name: e.currentTarget.value })}
              error={errorOf(index, 'name')}
              disabled={readOnly}
              required
              w={160}
            />
            <Select
              label="Type"
              aria-label={`Parameter ${index + 1} type`}
              data={PARAMETER_TYPES}
              value={draft.type}
              onChange={(value) => {
                const type = PARAMETER_TYPES.find((t) => t === value);
                if (type) update(index, { type, defaultText: '' });
              }}
              allowDeselect={false}
              disabled={readOnly}
              w={120}
            />
            <DefaultInput
              draft={draft}
              error={errorOf(index, 'default')}
              disabled={readOnly}
              onChange={(defaultText) => update(index, { defaultText })}
            />
            <TextInput
              label="Description"
              aria-label={`Parameter ${index + 1} description`}
              value={draft.description}
              onChange={(e) => update(index, { description: e.currentTarget.value })}
              error={errorOf(index, 'description')}
              disabled={readOnly}
              style={{ flex: 1, minWidth: 180 }}
            />
            <Checkbox
              label="Required"
              aria-label={`Parameter ${index + 1} required`}
              checked={draft.required}
              onChange={(e) => update(index, { required: e.currentTarget.checked })}
              disabled={readOnly}
              mt={30}
            />
            {!readOnly && (
              <Group gap={4} mt={26}>
                <ActionIcon
                  variant="default"
                  aria-label={`Move parameter ${index + 1} up`}
                  disabled={index === 0}
                  onClick={() => onChange(moveItem(drafts, index, index - 1))}
                >
                  ↑
                </ActionIcon>
                <ActionIcon
                  variant="default"
                  aria-label={`Move parameter ${index + 1} down`}
                  disabled={index === drafts.length - 1}
                  onClick={() => onChange(moveItem(drafts, index, index + 1))}
                >
                  ↓
                </ActionIcon>
                <ActionIcon
                  variant="light"
                  color="red"
                  aria-label={`Remove parameter ${index + 1}`}
                  onClick={() => onChange(drafts.filter((_, i) => i !== index))}
                >
                  ✕
                </ActionIcon>
              </Group>
            )}
          </Group>
          {draft.type === 'enum' && (
            <TagsInput
              mt="xs"
              label="Values"
              aria-label={`Parameter ${index + 1} values`}
              value={draft.values}
              onChange={(values) => update(index, { values })}
              error={errorOf(index, 'values')}
              disabled={readOnly}
            />
          )}
        </Paper>
      ))}
      {!readOnly && (
        <Group>
          <Button variant="default" size="xs" onClick={() => onChange([...drafts, emptyDraft()])}>
            Add parameter
          </Button>
        </Group>
      )}
    </Stack>
  );
}
