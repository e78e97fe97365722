import { Alert, Button, Group, Stack, Table, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, type useCursorPages } from '../../shell/paging';

/** A small red "Delete" that asks first (`options` as confirmDestructive takes them). */
export function DeleteButton({ options }: { options: Parameters<typeof confirmDestructive>[0] }) {
  return (
    <Button size="xs" variant="subtle" color="red" onClick={() => confirmDestructive(options)}>
      Delete
    </Button>
  );
}

/**
 * One page of an alerting list (rules, channels, silences): the button that opens its "new"
 * form (none without the permission), the error reading it, a row per item, what an empty list
 * says, and the pager.
 */
export function ConfigList<T extends { id: string }>(props: {
  pages: ReturnType<typeof useCursorPages>;
  list: {
    data: { items: T[]; next_cursor?: string | null | undefined } | undefined;
    error: Error | null;
    isSuccess: boolean;
  };
  create: { label: string; open: () => void } | undefined;
  headers: string[];
  /** The cells of an item's row; the last column, without a header, holds its actions. */
  cells: (item: T) => ReactNode;
  rowTestId: string;
  empty: string;
  highlightOnHover?: boolean;
  /** The forms the list opens. */
  children?: ReactNode;
}) {
  const items = props.list.data?.items ?? [];
  return (
    <Stack>
      <Group justify="flex-end">
        {props.create && <Button onClick={props.create.open}>{props.create.label}</Button>}
      </Group>
      {props.list.error && <Alert color="red">{props.list.error.message}</Alert>}
      <Table striped highlightOnHover={props.highlightOnHover ?? false}>
        <Table.Thead>
          <Table.Tr>
            {props.headers.map((header) => (
              <Table.Th key={header}>{header}</Table.Th>
            ))}
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((item) => (
            <Table.Tr key={item.id} data-testid={props.rowTestId}>
              {props.cells(item)}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {props.list.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {props.empty}
        </Text>
      )}
      <Pager pages={props.pages} nextCursor={props.list.data?.next_cursor} />
      {props.children}
    </Stack>
  );
}
