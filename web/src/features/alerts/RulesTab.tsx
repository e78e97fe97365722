import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { SeverityBadge } from './AlertsTab';
import { useDeleteRule, useRules, type Rule } from './queries';
import { KIND_LABELS, RuleModal } from './RuleModal';

export function RulesTab() {
  const pages = useCursorPages();
  const rules = useRules(pages.cursor);
  const remove = useDeleteRule();
  const canCreate = usePermission('alerts:create');
  const canDelete = usePermission('alerts:delete');
  // undefined: closed; null: a new rule; a rule: editing it. Keyed so each opening starts fresh.
  const [editing, setEditing] = useState<Rule | null | undefined>(undefined);
  const items = rules.data?.items ?? [];
  return (
    <Stack>
      <Group justify="flex-end">
        {canCreate && <Button onClick={() => setEditing(null)}>New rule</Button>}
      </Group>
      {rules.error && <Alert color="red">{rules.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Severity</Table.Th>
            <Table.Th>Channels</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((rule) => (
            <Table.Tr key={rule.id} data-testid="rule-row">
              <Table.Td>
                <Anchor component="button" onClick={() => setEditing(rule)}>
                  {rule.name}
                </Anchor>{' '}
                {!rule.enabled && <Badge color="gray">disabled</Badge>}
              </Table.Td>
              <Table.Td>{KIND_LABELS[rule.kind]}</Table.Td>
              <Table.Td>
                <SeverityBadge severity={rule.severity} />
              </Table.Td>
              <Table.Td>{rule.channel_ids.length}</Table.Td>
              <Table.Td>
                {canDelete && (
                  <Button
                    size="xs"
                    variant="subtle"
                    color="red"
                    onClick={() =>
                      confirmDestructive({
                        title: `Delete ${rule.name}?`,
                        body: 'Its alerts and their history are deleted with it.',
                        confirm: 'Delete rule',
                        run: () => remove.mutateAsync(rule.id),
                      })
                    }
                  >
                    Delete
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {rules.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No rule yet. A rule watches agents, metrics, jobs, runs, deployments or queues.
        </Text>
      )}
      <Pager pages={pages} nextCursor={rules.data?.next_cursor} />
      {editing !== undefined && (
        <RuleModal
          key={editing?.id ?? 'new'}
          rule={editing ?? undefined}
          opened
          onClose={() => setEditing(undefined)}
        />
      )}
    </Stack>
  );
}
