import { Stack, Tabs, Title } from '@mantine/core';
import { AlertsTab } from './AlertsTab';
import { ChannelsTab } from './ChannelsTab';
import { RulesTab } from './RulesTab';
import { SilencesTab } from './SilencesTab';

/** Alerting: what fires now, the rules that fire it, silences that hold notices, and where notices go. */
export function AlertsPage() {
  return (
    <Stack>
      <Title order={2}>Alerts</Title>
      <Tabs defaultValue="alerts" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="alerts">Alerts</Tabs.Tab>
          <Tabs.Tab value="rules">Rules</Tabs.Tab>
          <Tabs.Tab value="silences">Silences</Tabs.Tab>
          <Tabs.Tab value="channels">Channels</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="alerts" pt="md">
          <AlertsTab />
        </Tabs.Panel>
        <Tabs.Panel value="rules" pt="md">
          <RulesTab />
        </Tabs.Panel>
        <Tabs.Panel value="silences" pt="md">
          <SilencesTab />
        </Tabs.Panel>
        <Tabs.Panel value="channels" pt="md">
          <ChannelsTab />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
