import { ActionIcon, Button, Group, PasswordInput, Stack, Text, TextInput } from '@mantine/core';

/** How the API shows a stored secret: sent back under its name, the server keeps the stored value. */
const MASK = '********';

/** A secret variable as the form holds it: `stored` ones read back masked; an empty value keeps them. */
export interface SecretVar {
  name: string;
  value: string;
  stored: boolean;
}

export function secretVarsOf(secretEnv: Record<string, string>): SecretVar[] {
  return Object.keys(secretEnv).map((name) => ({ name, value: '', stored: true }));
}

export function secretEnvOf(vars: readonly SecretVar[]): Record<string, string> {
  return Object.fromEntries(
    vars
      .filter((item) => item.name.trim())
      .map((item) => [item.name.trim(), item.stored && item.value === '' ? MASK : item.value]),
  );
}

/**
 * The task's secret environment variables: names shown, values never. A stored one keeps its
 * value unless retyped, and keeps its name (to rename, remove it and add another): the server
 * keeps a masked value only under the name it was stored with.
 */
export function SecretEnvEditor(props: {
  value: SecretVar[];
  onChange: (value: SecretVar[]) => void;
  errorOf: (name: string) => string | undefined;
}) {
  const change = (index: number, patch: Partial<SecretVar>) =>
    props.onChange(props.value.map((item, i) => (i === index ? { ...item, ...patch } : item)));
  return (
    <Stack gap="xs">
      <Text size="sm" fw={500}>
        Secret environment variables
      </Text>
      {props.value.map((item, index) => (
        <Group key={index} align="flex-start" wrap="nowrap">
          <TextInput
            aria-label={`Secret ${index + 1} name`}
            placeholder="NAME"
            value={item.name}
            readOnly={item.stored}
            onChange={(e) => change(index, { name: e.currentTarget.value })}
            error={props.errorOf(item.name.trim())}
          />
          <PasswordInput
            aria-label={`Secret ${index + 1} value`}
            placeholder={item.stored ? 'kept as stored' : 'value'}
            value={item.value}
            onChange={(e) => change(index, { value: e.currentTarget.value })}
            style={{ flex: 1 }}
          />
          <ActionIcon
            variant="subtle"
            color="red"
            aria-label={`Remove secret ${index + 1}`}
            onClick={() => props.onChange(props.value.filter((_, i) => i !== index))}
          >
            ×
          </ActionIcon>
        </Group>
      ))}
      <Group>
        <Button
          variant="light"
          size="xs"
          onClick={() => props.onChange([...props.value, { name: '', value: '', stored: false }])}
        >
          Add secret
        </Button>
      </Group>
    </Stack>
  );
}
