import { Alert } from '@mantine/core';
import { ApiError } from '../api/client';

/** The server's per-field messages by field path (`name`, `parameters.0.name`). */
export type FieldErrors = Record<string, string>;

/** A detail's field as the form names it: a schema refusal prefixes `body.`, the services do not. */
const fieldOf = (field: string) => field.replace(/^body\./, '');

/** Whether a detail on `field` shows under one of the inputs `shown`, itself or one nested in it. */
const isUnder = (field: string, shown: readonly string[]) =>
  shown.some((input) => field === input || field.startsWith(`${input}.`));

/** The refusal's details by field, several on one field joined. */
export function fieldErrorsOf(error: Error | null): FieldErrors {
  const errors: FieldErrors = {};
  if (!(error instanceof ApiError)) return errors;
  for (const detail of error.details) {
    if (!detail.field) continue;
    const field = fieldOf(detail.field);
    errors[field] = errors[field] ? `${errors[field]}; ${detail.message}` : detail.message;
  }
  return errors;
}

/** What to show under the input `field`: its own message and those of fields nested in it. */
export function errorUnder(errors: FieldErrors, field: string): string | undefined {
  const messages = Object.entries(errors)
    .filter(([path]) => isUnder(path, [field]))
    .map(([path, message]) => (path === field ? message : `${path.slice(field.length + 1)}: ${message}`));
  return messages.length > 0 ? messages.join('; ') : undefined;
}

/**
 * The server's refusal kept on the form: its message and every detail that no input of `shown`
 * displays (those show under their input).
 */
export function RefusalAlert(props: { error: Error | null; shown?: readonly string[] }) {
  const { error, shown = [] } = props;
  if (!error) return null;
  const details = error instanceof ApiError ? error.details : [];
  return (
    <Alert color="red" data-testid="refusal">
      {error.message}
      {details
        .filter((detail) => !detail.field || !isUnder(fieldOf(detail.field), shown))
        .map((detail) => (
          <div key={`${detail.field ?? ''}${detail.message}`}>
            {detail.field ? `${fieldOf(detail.field)}: ` : ''}
            {detail.message}
          </div>
        ))}
    </Alert>
  );
}
