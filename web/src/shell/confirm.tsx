import { Text } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';

/** What to do when an action fails: say so, with the server's message. */
export function notifyFailure(title: string) {
  return (error: Error) => notifications.show({ color: 'red', title, message: error.message });
}

/** Asks before a destructive action; `run` happens only once confirmed. */
export function confirmDestructive(options: {
  title: string;
  body: string;
  confirm: string;
  keep?: string;
  run: () => void;
}): void {
  modals.openConfirmModal({
    title: options.title,
    children: <Text size="sm">{options.body}</Text>,
    labels: { confirm: options.confirm, cancel: options.keep ?? 'Keep' },
    confirmProps: { color: 'red' },
    onConfirm: options.run,
  });
}
