import { Badge, List, Stack, Text } from '@mantine/core';
import type { Proposal, SafetyLevel } from './queries';

const colors: Record<SafetyLevel, string> = { safe: 'green', caution: 'yellow', dangerous: 'red' };

export function SafetyBadge({ level }: { level: SafetyLevel }) {
  return (
    <Badge color={colors[level]} data-testid="safety-badge">
      {level}
    </Badge>
  );
}

/** Why the proposal has its level: the analyzer's named rules, then the model's own reasons. */
export function SafetyFindings({ safety }: { safety: Proposal['safety'] }) {
  if (safety.findings.length === 0 && safety.model_reasons.length === 0) return null;
  return (
    <Stack gap={4}>
      <List size="sm" data-testid="safety-findings">
        {safety.findings.map((finding) => (
          <List.Item key={finding.rule + finding.reason}>
            <Text span fw={600} size="sm">
              {finding.rule}
            </Text>{' '}
            ({finding.level}): {finding.reason}
          </List.Item>
        ))}
      </List>
      {safety.model_reasons.length > 0 && (
        <Text size="xs" c="dimmed">
          The model says: {safety.model_reasons.join('; ')}
        </Text>
      )}
    </Stack>
  );
}
