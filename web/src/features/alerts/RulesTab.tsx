import { Anchor, Badge, Table } from '@mantine/core';
import { useState } from 'react';
import { useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { SeverityBadge } from './AlertsTab';
import { ConfigList, DeleteButton } from './ConfigList';
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
  return (
    <ConfigList
      pages={pages}
      list={rules}
      create={canCreate ? { label: 'New rule', open: () => setEditing(null) } : undefined}
      headers={['Name', 'Kind', 'Severity', 'Channels']}
      rowTestId="rule-row"
      empty="No rule yet. A rule watches agents, metrics, jobs, runs, deployments or queues."
      highlightOnHover
      cells={(rule: Rule) => (
        <>
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
              <DeleteButton
                options={{
                  title: `Delete ${rule.name}?`,
                  body: 'Its alerts and their history are deleted with it.',
                  confirm: 'Delete rule',
                  run: () => remove.mutateAsync(rule.id),
                }}
              />
            )}
          </Table.Td>
        </>
      )}
    >
      {editing !== undefined && (
        <RuleModal
          key={editing?.id ?? 'new'}
          rule={editing ?? undefined}
          opened
          onClose={() => setEditing(undefined)}
        />
      )}
    </ConfigList>
  );
}
