import { Text } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useEffect } from 'react';
import { useBlocker, type Location } from 'react-router';

/** What to do when an action fails: say so, with the server's message. */
export function notifyFailure(title: string) {
  return (error: Error) => notifications.show({ color: 'red', title, message: error.message });
}

/**
 * Asks before a destructive action; `run` happens only once confirmed, and if what it returns
 * fails, the failure is shown as "<confirm> failed" with the server's message.
 */
export function confirmDestructive(options: {
  title: string;
  body: string;
  confirm: string;
  keep?: string;
  run: () => Promise<unknown> | void;
}): void {
  modals.openConfirmModal({
    title: options.title,
    children: <Text size="sm">{options.body}</Text>,
    labels: { confirm: options.confirm, cancel: options.keep ?? 'Keep' },
    confirmProps: { color: 'red' },
    onConfirm: () => {
      Promise.resolve()
        .then(options.run)
        .catch(notifyFailure(`${options.confirm} failed`));
    },
  });
}

/** Navigation state that leaves a page with changes without asking: they were saved (or deleted). */
export const DONE_HERE = { doneHere: true };

const isDone = (location: Location) => (location.state as typeof DONE_HERE | null)?.doneHere === true;

/**
 * While `dirty`, leaving the page asks first: another page of the console (a link, Back) through
 * a confirm, a reload or a closed tab through the browser's own question. A navigation with
 * `DONE_HERE` as its state passes.
 */
export function useConfirmLeave(dirty: boolean): void {
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty && currentLocation.pathname !== nextLocation.pathname && !isDone(nextLocation),
  );
  useEffect(() => {
    if (blocker.state !== 'blocked') return;
    let decided = false;
    const decide = (leave: boolean) => {
      if (decided) return;
      decided = true;
      if (leave) blocker.proceed();
      else blocker.reset();
    };
    modals.openConfirmModal({
      title: 'Leave without saving?',
      children: <Text size="sm">Your changes on this page are not saved.</Text>,
      labels: { confirm: 'Leave', cancel: 'Stay' },
      confirmProps: { color: 'red' },
      onConfirm: () => decide(true),
      onCancel: () => decide(false),
      onClose: () => decide(false),
    });
  }, [blocker]);
  useEffect(() => {
    if (!dirty) return;
    const ask = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', ask);
    return () => window.removeEventListener('beforeunload', ask);
  }, [dirty]);
}
