import {
  Alert as Notice,
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  SegmentedControl,
  Stack,
  Table,
  Text,
} from '@mantine/core';
import { useState } from 'react';
import { notifyFailure } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { usePermission } from '../auth/session';
import { useAcknowledge, useAlert, useAlerts, type AlertState, type AlertSummary } from './queries';

const STATE_COLOURS: Record<AlertState, string> = {
  firing: 'red',
  acknowledged: 'yellow',
  resolved: 'green',
};
const SEVERITY_COLOURS: Record<string, string> = { info: 'blue', warning: 'orange', critical: 'red' };

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <Badge variant="light" color={SEVERITY_COLOURS[severity] ?? 'gray'}>
      {severity}
    </Badge>
  );
}

function AcknowledgeButton({ alert }: { alert: AlertSummary }) {
  const acknowledge = useAcknowledge();
  if (alert.state !== 'firing') return null;
  return (
    <Button
      size="xs"
      variant="light"
      loading={acknowledge.isPending}
      onClick={() => acknowledge.mutate(alert.id, { onError: notifyFailure('Acknowledge failed') })}
    >
      Acknowledge
    </Button>
  );
}

/** An alert's history, oldest first: fired, silenced, each notification attempt, acknowledged, resolved. */
function HistoryModal({ id, onClose }: { id: string | null; onClose: () => void }) {
  const alert = useAlert(id);
  return (
    <Modal opened={id !== null} onClose={onClose} title="Alert history" size="lg">
      {alert.data && (
        <Stack gap="xs">
          <Text fw={500}>{alert.data.summary}</Text>
          <Table data-testid="alert-history">
            <Table.Tbody>
              {alert.data.history.map((event, index) => (
                <Table.Tr key={index}>
                  <Table.Td>{new Date(event.at).toLocaleString()}</Table.Td>
                  <Table.Td>{event.kind}</Table.Td>
                  <Table.Td>
                    {event.actor ??
                      (typeof event.detail.channel === 'string'
                        ? `${event.detail.channel}: ${String(event.detail.status ?? event.detail.body)}`
                        : '')}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      )}
    </Modal>
  );
}

export function AlertsTab() {
  const [state, setState] = useState<AlertState | 'all'>('all');
  const pages = useCursorPages(state);
  const alerts = useAlerts(state === 'all' ? undefined : state, pages.cursor);
  const canAcknowledge = usePermission('alerts:update');
  const [shown, setShown] = useState<string | null>(null);
  const items = alerts.data?.items ?? [];
  return (
    <Stack>
      <Group>
        <SegmentedControl
          value={state}
          onChange={(value) => setState(value)}
          data={['all', 'firing', 'acknowledged', 'resolved']}
        />
      </Group>
      {alerts.error && <Notice color="red">{alerts.error.message}</Notice>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Alert</Table.Th>
            <Table.Th>Rule</Table.Th>
            <Table.Th>Severity</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Fired</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((alert) => (
            <Table.Tr key={alert.id} data-testid="alert-row">
              <Table.Td>
                <Anchor component="button" onClick={() => setShown(alert.id)}>
                  {alert.subject_label}
                </Anchor>
                <Text size="xs" c="dimmed">
                  {alert.summary}
                </Text>
              </Table.Td>
              <Table.Td>{alert.rule_name}</Table.Td>
              <Table.Td>
                <SeverityBadge severity={alert.severity} />
              </Table.Td>
              <Table.Td>
                <Badge color={STATE_COLOURS[alert.state]} data-testid="alert-state">
                  {alert.state}
                </Badge>
                {alert.acknowledged_by && (
                  <Text size="xs" c="dimmed">
                    by {alert.acknowledged_by}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{new Date(alert.fired_at).toLocaleString()}</Table.Td>
              <Table.Td>{canAcknowledge && <AcknowledgeButton alert={alert} />}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {alerts.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No alert. Rules fire them when agents go offline, metrics run high, jobs fail or queues back up.
        </Text>
      )}
      <Pager pages={pages} nextCursor={alerts.data?.next_cursor} />
      <HistoryModal id={shown} onClose={() => setShown(null)} />
    </Stack>
  );
}
