import { Button, CopyButton, type ButtonProps } from '@mantine/core';

/** Copies a value (a command, a secret) to the clipboard, and says so for a moment. */
export function CopyValueButton(props: { value: string; size?: ButtonProps['size'] }) {
  return (
    <CopyButton value={props.value}>
      {({ copied, copy }) => (
        <Button size={props.size} variant="light" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </Button>
      )}
    </CopyButton>
  );
}
