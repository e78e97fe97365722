import { Textarea, type TextareaProps } from '@mantine/core';

const monospace = { input: { fontFamily: 'var(--mantine-font-family-monospace)' } };

/** A plain text area for code or JSON: monospace, growing with its content. */
export function CodeTextarea(props: TextareaProps) {
  return <Textarea autosize minRows={3} spellCheck={false} styles={monospace} {...props} />;
}
