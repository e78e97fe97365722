import { Checkbox, NumberInput, Select, Stack, Text, TextInput } from '@mantine/core';
import type { FieldErrors } from '../../shell/refusal';
import { valueOf } from './parameterDrafts';
import type { ParameterDefinition, ParameterValue } from './queries';

/** What was typed for each parameter, by name; a boolean's is 'true' or 'false'. */
export type ParameterTexts = Record<string, string>;

/** The form's starting point: each default filled in, secrets always empty. */
export function initialTexts(definitions: readonly ParameterDefinition[]): ParameterTexts {
  return Object.fromEntries(
    definitions.map((d) => [
      d.name,
      d.type === 'boolean' ? String(d.default ?? false) : d.default === undefined ? '' : String(d.default),
    ]),
  );
}

/**
 * The values to send: a parameter left empty is not sent, so the server applies its default or
 * names it as required (422).
 */
export function parameterValues(
  definitions: readonly ParameterDefinition[],
  texts: ParameterTexts,
): Record<string, ParameterValue> {
  const values: Record<string, ParameterValue> = {};
  for (const definition of definitions) {
    const text = texts[definition.name] ?? '';
    if (definition.type === 'boolean' || text !== '')
      values[definition.name] = valueOf(definition.type, text);
  }
  return values;
}

function ValueInput(props: {
  definition: ParameterDefinition;
  text: string;
  error: string | undefined;
  onChange: (text: string) => void;
}) {
  const { definition, text, error, onChange } = props;
  const common = {
    label: definition.name,
    description: definition.description,
    required: definition.required ?? false,
    error,
  };
  switch (definition.type) {
    case 'boolean':
      return (
        <Checkbox
          label={definition.name}
          description={definition.description}
          error={error}
          checked={text === 'true'}
          onChange={(e) => onChange(String(e.currentTarget.checked))}
        />
      );
    case 'enum':
      return (
        <Select
          {...common}
          data={definition.values ?? []}
          value={text || null}
          onChange={(value) => onChange(value ?? '')}
          clearable={!definition.required}
        />
      );
    case 'number':
      return <NumberInput {...common} value={text} onChange={(value) => onChange(String(value))} />;
    case 'secret':
      // a plain password input: no control to reveal what was typed
      return (
        <TextInput
          {...common}
          type="password"
          autoComplete="new-password"
          value={text}
          onChange={(e) => onChange(e.currentTarget.value)}
        />
      );
    case 'string':
      return <TextInput {...common} value={text} onChange={(e) => onChange(e.currentTarget.value)} />;
  }
}

/** One input per typed parameter of the script: required ones marked, defaults filled in. */
export function ParameterValuesForm(props: {
  definitions: readonly ParameterDefinition[];
  texts: ParameterTexts;
  onChange: (texts: ParameterTexts) => void;
  errors: FieldErrors;
}) {
  const { definitions, texts, onChange, errors } = props;
  if (definitions.length === 0)
    return (
      <Text size="sm" c="dimmed">
        This script takes no parameter.
      </Text>
    );
  return (
    <Stack gap="xs" data-testid="parameter-values">
      {definitions.map((definition) => (
        <ValueInput
          key={definition.name}
          definition={definition}
          text={texts[definition.name] ?? ''}
          error={errors[`parameters.${definition.name}`]}
          onChange={(text) => onChange({ ...texts, [definition.name]: text })}
        />
      ))}
    </Stack>
  );
}
