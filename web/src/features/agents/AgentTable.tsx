import { Anchor, Badge, Box, Group, Table } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import { Link } from 'react-router';
import classes from './AgentTable.module.css';
import { AgentStatus } from './AgentStatus';
import type { Agent } from './queries';

/** One formatter for every row: `toLocaleString` builds a new one per call. */
const lastSeen = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

/**
 * Every row is this tall (tags that do not fit are cut, not wrapped): the virtualizer places rows
 * without measuring them, as each measure forces the browser to lay the page out.
 */
const ROW_HEIGHT = 41;
const COLUMNS = 7;

/**
 * The agents of a page, virtualized: only the rows in view (and a few around them) are in the
 * DOM, between two spacer rows that keep the scroll height, so a page of hundreds stays smooth.
 * The layout is fixed: columns keep their widths whichever rows are in view.
 * `resetKey` (the filters and the page) scrolls back to the top when it changes.
 */
export const AgentTable = memo(function AgentTable({
  items,
  selected,
  onToggle,
  onToggleAll,
  resetKey,
}: {
  items: Agent[];
  selected: ReadonlyMap<string, Agent>;
  onToggle: (agent: Agent) => void;
  onToggleAll: () => void;
  resetKey: string;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => items[index]!.id,
    overscan: 4,
    useFlushSync: false,
  });
  useEffect(() => virtualizer.scrollToOffset(0), [resetKey, virtualizer]);

  const rows = virtualizer.getVirtualItems();
  const spaceAbove = rows[0]?.start ?? 0;
  const spaceBelow = virtualizer.getTotalSize() - (rows.at(-1)?.end ?? 0);
  const allSelected = items.length > 0 && items.every((agent) => selected.has(agent.id));
  const someSelected = !allSelected && items.some((agent) => selected.has(agent.id));

  return (
    <Box
      ref={scrollRef}
      mah="calc(100vh - 260px)"

      style={{ overflowY: 'auto' }}
      data-testid="agent-table"
    >
      <Table layout="fixed" highlightOnHover stickyHeader aria-rowcount={items.length + 1}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <input
                type="checkbox"
                className={classes.rowCheckbox}
                aria-label="Select all on this page"
                checked={allSelected}
                ref={(box) => {
                  if (box) box.indeterminate = someSelected;
                }}
                onChange={onToggleAll}
              />
            </Table.Th>
            <Table.Th w="20%">Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>OS</Table.Th>
            <Table.Th>IP</Table.Th>
            <Table.Th w="22%">Tags</Table.Th>
            <Table.Th>Last seen</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {spaceAbove > 0 && <Spacer height={spaceAbove} />}
          {rows.map((row) => {
            const agent = items[row.index]!;
            return (
              <Table.Tr
                key={row.key}
                h={ROW_HEIGHT}
                aria-rowindex={row.index + 2}
                data-testid="agent-row"
                bg={selected.has(agent.id) ? 'var(--mantine-primary-color-light)' : undefined}
              >
                <Table.Td>
                  <input
                    type="checkbox"
                    className={classes.rowCheckbox}
                    aria-label={`Select ${agent.name}`}
                    checked={selected.has(agent.id)}
                    onChange={() => onToggle(agent)}
                  />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/agents/${agent.id}`}>
                    {agent.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <AgentStatus status={agent.status} />
                </Table.Td>
                <Table.Td>
                  {agent.os_type} {agent.os_version}
                </Table.Td>
                <Table.Td>{agent.ip ?? '—'}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap" style={{ overflow: 'hidden' }}>
                    {agent.tags.map((tag) => (
                      <Badge key={tag} variant="outline" size="sm">
                        {tag}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td className={classes.oneLine}>
                  {agent.last_seen_at ? lastSeen.format(new Date(agent.last_seen_at)) : 'never'}
                </Table.Td>
              </Table.Tr>
            );
          })}
          {spaceBelow > 0 && <Spacer height={spaceBelow} />}
        </Table.Tbody>
      </Table>
    </Box>
  );
});

/** Stands in for the rows out of view. */
function Spacer({ height }: { height: number }) {
  return (
    <tr aria-hidden>
      <td colSpan={COLUMNS} style={{ height, padding: 0, border: 0 }} />
    </tr>
  );
}
