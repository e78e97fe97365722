import { Button, Group } from '@mantine/core';
import { useEffect, useState } from 'react';

/**
 * Cursor pages: the page shown follows the server's `next_cursor`, and the cursors of the pages
 * before are kept to go back. A change of `resetKey` (a filter) starts again at the first page.
 */
export function useCursorPages(resetKey = '') {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setCursors([undefined]), [resetKey]);
  return {
    cursor: cursors[cursors.length - 1],
    hasPrevious: cursors.length > 1,
    previous: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
  };
}

export function Pager({
  pages,
  nextCursor,
  labels = ['Previous', 'Next'],
}: {
  pages: ReturnType<typeof useCursorPages>;
  nextCursor: string | null | undefined;
  /** What the buttons say: the page before, the page after. */
  labels?: [string, string];
}) {
  return (
    <Group justify="flex-end">
      <Button variant="default" disabled={!pages.hasPrevious} onClick={pages.previous}>
        {labels[0]}
      </Button>
      <Button variant="default" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {labels[1]}
      </Button>
    </Group>
  );
}
