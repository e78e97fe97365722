import { Textarea, TextInput } from '@mantine/core';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';

const SHOWN = ['name', 'description'];

/** A profile's name and description, each with the server's error under it, and the refusal. */
export function NameAndDescription(props: {
  name: string;
  description: string;
  onName: (name: string) => void;
  onDescription: (description: string) => void;
  error: Error | null;
  autoFocus?: boolean;
}) {
  const errors = fieldErrorsOf(props.error);
  return (
    <>
      <TextInput
        label="Name"
        required
        data-autofocus={props.autoFocus}
        value={props.name}
        onChange={(e) => props.onName(e.currentTarget.value)}
        error={errorUnder(errors, 'name')}
      />
      <Textarea
        label="Description"
        autosize
        minRows={2}
        value={props.description}
        onChange={(e) => props.onDescription(e.currentTarget.value)}
        error={errorUnder(errors, 'description')}
      />
      <RefusalAlert error={props.error} shown={SHOWN} />
    </>
  );
}
