import { Loader, Text } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { useLiveOutput } from './queries';

const OutputTerminal = lazy(() => import('./OutputTerminal'));

/** A job's output, live while it runs. */
export function JobOutput({ jobId }: { jobId: string }) {
  const { text, truncated } = useLiveOutput(jobId);
  return (
    <>
      <Suspense fallback={<Loader size="sm" aria-label="Loading the terminal" />}>
        <OutputTerminal text={text} />
      </Suspense>
      {truncated && (
        <Text size="xs" c="dimmed">
          The output was truncated by the server&apos;s limit.
        </Text>
      )}
    </>
  );
}
