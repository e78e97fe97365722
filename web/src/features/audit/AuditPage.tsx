import { Alert, Button, Stack, Table, Text, Title } from '@mantine/core';
import { Fragment, useState } from 'react';
import { AuditDiff } from './AuditDiff';
import { AuditFilterBar, useAuditFilters } from './AuditFilters';
import { useAuditEvents } from './queries';
import { Pager, useCursorPages } from '../../shell/paging';

/**
 * The audit log, newest first, a page at a time (the server's cursors, kept to go back). A filter
 * change starts again at the first page; an event opens in place to show what it changed.
 */
export function AuditPage() {
  const [filters, setFilter] = useAuditFilters();
  const pages = useCursorPages(JSON.stringify(filters));
  const events = useAuditEvents(filters, pages.cursor);
  const [open, setOpen] = useState<string | null>(null);

  const items = events.data?.items ?? [];
  return (
    <Stack>
      <Title order={2}>Audit</Title>
      <AuditFilterBar filters={filters} onChange={setFilter} />
      {events.error && <Alert color="red">{events.error.message}</Alert>}
      <Table highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Entity</Table.Th>
            <Table.Th>IP</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((event) => (
            <Fragment key={event.id}>
              <Table.Tr data-testid="audit-row">
                <Table.Td>{new Date(event.created_at).toLocaleString()}</Table.Td>
                <Table.Td>{event.actor_label ?? event.actor_type}</Table.Td>
                <Table.Td>{event.action}</Table.Td>
                <Table.Td>
                  {event.entity_type}
                  {event.entity_id && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      {event.entity_id}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{event.ip ?? '—'}</Table.Td>
                <Table.Td>
                  <Button
                    size="xs"
                    variant="default"
                    onClick={() => setOpen(open === event.id ? null : event.id)}
                  >
                    {open === event.id ? 'Hide changes' : 'Changes'}
                  </Button>
                </Table.Td>
              </Table.Tr>
              {open === event.id && (
                <Table.Tr>
                  <Table.Td colSpan={6}>
                    <AuditDiff before={event.before} after={event.after} />
                  </Table.Td>
                </Table.Tr>
              )}
            </Fragment>
          ))}
        </Table.Tbody>
      </Table>
      {events.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No audit event matches these filters.
        </Text>
      )}
      <Pager pages={pages} nextCursor={events.data?.next_cursor} />
    </Stack>
  );
}
