import { List, Stack, Text } from '@mantine/core';
import { previewTiming, type TimingInput } from './timing';

const SHOWN = 5;

function inZone(date: Date, timeZone: string): string {
  return date.toLocaleString(undefined, { timeZone, dateStyle: 'medium', timeStyle: 'short' });
}

/** The timing in words and its next fire times, in the schedule's time zone and the viewer's. */
export function TimingPreview(props: { timing: TimingInput }) {
  const preview = previewTiming(props.timing, SHOWN);
  if ('error' in preview)
    return (
      <Text size="sm" c="red" data-testid="timing-preview">
        {preview.error}
      </Text>
    );
  const zone = 'timezone' in props.timing ? props.timing.timezone : undefined;
  return (
    <Stack gap={4} data-testid="timing-preview">
      <Text size="sm" fw={500}>
        {preview.words}
      </Text>
      <Text size="xs" c="dimmed">
        Next {SHOWN} fire times{zone ? ` (${zone}; your time in brackets)` : ''}:
      </Text>
      <List size="xs" data-testid="next-fires">
        {preview.next.map((date) => (
          <List.Item key={date.getTime()}>
            {zone ? `${inZone(date, zone)} (${date.toLocaleString()})` : date.toLocaleString()}
          </List.Item>
        ))}
      </List>
    </Stack>
  );
}
