import { Button, Code, Group, Stack, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { CopyValueButton } from './CopyValueButton';

/**
 * A secret the server answers only once (a key, a token): shown with a way to copy it, and what
 * goes with it (`children`); `onDone` closes, and whoever shows it then forgets it.
 */
export function ShownOnce(props: {
  /** What the secret is ("key", "token") and the name it was given. */
  what: string;
  name: string;
  secret: string;
  testId: string;
  onDone: () => void;
  children?: ReactNode;
}) {
  return (
    <Stack>
      <Text size="sm">
        The {props.what} <b>{props.name}</b> is shown this once: copy it now.
      </Text>
      <Code block data-testid={props.testId}>
        {props.secret}
      </Code>
      {props.children}
      <Group justify="flex-end">
        <CopyValueButton value={props.secret} />
        <Button onClick={props.onDone}>Done</Button>
      </Group>
    </Stack>
  );
}
