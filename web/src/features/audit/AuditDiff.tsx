import { Code, Table, Text } from '@mantine/core';

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown): Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {};
}

function shown(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** The fields whose value differs between before and after (all of them for a creation or deletion). */
export function changedFields(
  before: unknown,
  after: unknown,
): { field: string; before: unknown; after: unknown }[] {
  const a = fieldsOf(before);
  const b = fieldsOf(after);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((field) => shown(a[field]) !== shown(b[field]))
    .sort()
    .map((field) => ({ field, before: a[field], after: b[field] }));
}

/** An audit event's before/after as a per-field table of what changed. */
export function AuditDiff({ before, after }: { before: unknown; after: unknown }) {
  const changes = changedFields(before, after);
  if (changes.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No field changed.
      </Text>
    );
  return (
    <Table withTableBorder data-testid="audit-diff">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Field</Table.Th>
          <Table.Th>Before</Table.Th>
          <Table.Th>After</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {changes.map((change) => (
          <Table.Tr key={change.field}>
            <Table.Td>{change.field}</Table.Td>
            <Table.Td bg={change.before === undefined ? undefined : 'var(--mantine-color-red-light)'}>
              <Code>{shown(change.before)}</Code>
            </Table.Td>
            <Table.Td bg={change.after === undefined ? undefined : 'var(--mantine-color-green-light)'}>
              <Code>{shown(change.after)}</Code>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
