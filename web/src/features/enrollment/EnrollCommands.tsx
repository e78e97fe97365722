import { Code, Group, Stack, Tabs, Text } from '@mantine/core';
import { CopyValueButton } from '../../shell/CopyValueButton';

type Os = 'linux' | 'macos' | 'windows';

/**
 * The README's "Enrolling machines" command for each OS. The agent is the same `fleetplane agent`
 * everywhere; only the shell's quoting differs (POSIX single quotes, PowerShell double quotes).
 */
export function enrollCommand(os: Os, server: string, token: string): string {
  const quote = os === 'windows' ? (s: string) => `"${s}"` : (s: string) => `'${s}'`;
  return `npx fleetplane agent --server ${quote(server)} --token ${quote(token)}`;
}

const systems: { os: Os; label: string; shell: string }[] = [
  { os: 'linux', label: 'Linux', shell: 'a shell' },
  { os: 'macos', label: 'macOS', shell: 'Terminal' },
  { os: 'windows', label: 'Windows', shell: 'PowerShell' },
];

/** Tabs with a copy-paste command per OS; `token` is the secret, or a placeholder once it is gone. */
export function EnrollCommands({ token }: { token: string }) {
  const server = window.location.origin;
  return (
    <Tabs defaultValue="linux">
      <Tabs.List>
        {systems.map((system) => (
          <Tabs.Tab key={system.os} value={system.os}>
            {system.label}
          </Tabs.Tab>
        ))}
      </Tabs.List>
      {systems.map((system) => {
        const command = enrollCommand(system.os, server, token);
        return (
          <Tabs.Panel key={system.os} value={system.os} pt="xs">
            <Stack gap={4}>
              <Code block data-testid={`enroll-command-${system.os}`}>
                {command}
              </Code>
              <Group justify="space-between">
                <Text size="sm" c="dimmed">
                  Run it in {system.shell} on the machine (Node.js 20+).
                </Text>
                <CopyValueButton value={command} size="xs" />
              </Group>
            </Stack>
          </Tabs.Panel>
        );
      })}
    </Tabs>
  );
}
