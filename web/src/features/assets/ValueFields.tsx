import { NumberInput, PasswordInput, Stack, Switch, Textarea, TextInput } from '@mantine/core';
import { errorUnder, type FieldErrors } from '../../shell/refusal';
import type { AssetType, AssetValue } from './queries';

/** What the inputs hold while typed: every type's parts, so switching type keeps nothing stale. */
export interface ValueDraft {
  text: string;
  integer: number | string;
  boolean: boolean;
  username: string;
  password: string;
}

export const emptyValue: ValueDraft = { text: '', integer: '', boolean: false, username: '', password: '' };

/** The value to send for the type; the server checks it again (422 under the field). */
export function valueOf(type: AssetType, draft: ValueDraft): AssetValue {
  switch (type) {
    case 'text':
    case 'secret':
      return draft.text;
    case 'integer':
      // Left empty, it is sent as it is, for the server to say what it needs.
      return draft.integer === '' ? '' : Number(draft.integer);
    case 'boolean':
      return draft.boolean;
    case 'credential':
      return { username: draft.username, password: draft.password };
  }
}

/**
 * The inputs of a value of one type. Nothing is ever filled in from the server: values are
 * written, never read back.
 */
export function ValueFields(props: {
  type: AssetType;
  draft: ValueDraft;
  onChange: (draft: ValueDraft) => void;
  errors: FieldErrors;
}) {
  const { type, draft, errors } = props;
  const set = <K extends keyof ValueDraft>(key: K, value: ValueDraft[K]) =>
    props.onChange({ ...draft, [key]: value });
  switch (type) {
    case 'text':
      return (
        <Textarea
          label="Value"
          autosize
          minRows={2}
          value={draft.text}
          onChange={(e) => set('text', e.currentTarget.value)}
          error={errorUnder(errors, 'value')}
        />
      );
    case 'secret':
      return (
        <PasswordInput
          label="Secret"
          autoComplete="new-password"
          value={draft.text}
          onChange={(e) => set('text', e.currentTarget.value)}
          error={errorUnder(errors, 'value')}
        />
      );
    case 'integer':
      return (
        <NumberInput
          label="Value"
          allowDecimal={false}
          value={draft.integer}
          onChange={(value) => set('integer', value)}
          error={errorUnder(errors, 'value')}
        />
      );
    case 'boolean':
      return (
        <Switch
          label="Value (true when on)"
          checked={draft.boolean}
          onChange={(e) => set('boolean', e.currentTarget.checked)}
          error={errorUnder(errors, 'value')}
        />
      );
    case 'credential':
      return (
        <Stack gap="xs">
          <TextInput
            label="Username"
            autoComplete="off"
            value={draft.username}
            onChange={(e) => set('username', e.currentTarget.value)}
            error={errors['value.username'] ?? errors.value}
          />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            value={draft.password}
            onChange={(e) => set('password', e.currentTarget.value)}
            error={errors['value.password']}
          />
        </Stack>
      );
  }
}
