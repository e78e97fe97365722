import {
  Alert,
  Button,
  Group,
  NumberInput,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Switch,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState } from 'react';
import { fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { usePermission } from '../auth/session';
import { HousekeepingPanel } from '../housekeeping/HousekeepingPanel';
import { useSettings, useUpdateSettings, type Settings, type SettingsGroup } from './queries';

type Value = string | number | boolean;

interface Field {
  label: string;
  kind: 'text' | 'secret' | 'number' | 'switch' | 'select';
  description?: string;
  options?: string[];
}

/** How each key is edited; typed on the API's groups, so a new or renamed key breaks the type check. */
const groups: { [G in SettingsGroup]: { title: string; fields: { [K in keyof Settings[G]]-?: Field } } } = {
  general: {
    title: 'General',
    fields: {
      instance_name: { label: 'Instance name', kind: 'text' },
      timezone: { label: 'Time zone', kind: 'text', description: 'IANA name, e.g. Europe/Paris' },
    },
  },
  security: {
    title: 'Security',
    fields: {
      allow_signup: {
        label: 'Allow sign-up',
        kind: 'switch',
        description: 'Anyone may create an organisation; when off, only invites',
      },
      password_min_length: { label: 'Minimum password length', kind: 'number' },
      api_key_max_ttl_days: {
        label: 'API key maximum lifetime (days)',
        kind: 'number',
        description: '0 means keys may never expire',
      },
    },
  },
  jobs: {
    title: 'Jobs',
    fields: {
      default_timeout_seconds: { label: 'Default timeout (seconds)', kind: 'number' },
      max_attempts: { label: 'Maximum attempts', kind: 'number' },
      output_cap_bytes: { label: 'Output cap (bytes)', kind: 'number' },
      output_retention_days: {
        label: 'Output retention (days)',
        kind: 'number',
        description: 'Output of jobs finished longer ago is deleted by housekeeping; 0 keeps it',
      },
    },
  },
  email: {
    title: 'Email',
    fields: {
      smtp_host: { label: 'SMTP host', kind: 'text' },
      smtp_port: { label: 'SMTP port', kind: 'number' },
      smtp_secure: { label: 'TLS from the start', kind: 'switch' },
      smtp_user: { label: 'SMTP user', kind: 'text' },
      smtp_password: { label: 'SMTP password', kind: 'secret' },
      from_address: { label: 'From address', kind: 'text' },
    },
  },
  logging: {
    title: 'Logging',
    fields: {
      level: {
        label: 'Level',
        kind: 'select',
        options: ['debug', 'info', 'warn', 'error'],
        description: 'Applied at once on every server node',
      },
      audit_retention_days: { label: 'Audit retention (days)', kind: 'number' },
    },
  },
  ai: {
    title: 'AI',
    fields: {
      enabled: { label: 'Enabled', kind: 'switch' },
      provider_url: { label: 'Provider URL', kind: 'text' },
      model: { label: 'Model', kind: 'text' },
      api_key: { label: 'API key', kind: 'secret' },
      safety_check: {
        label: 'Safety check',
        kind: 'switch',
        description: 'Caution commands ask for a confirmation; dangerous ones also a dedicated permission',
      },
      max_tokens: { label: 'Maximum tokens per answer', kind: 'number' },
      temperature: { label: 'Temperature', kind: 'number' },
      timeout_seconds: { label: 'Provider timeout (seconds)', kind: 'number' },
      system_prompt_extra: {
        label: 'Extra instructions',
        kind: 'text',
        description: 'Added to the system prompt',
      },
    },
  },
  webhooks: {
    title: 'Webhooks',
    fields: {
      timeout_seconds: { label: 'Answer within (seconds)', kind: 'number' },
      max_attempts: {
        label: 'Tries per delivery',
        kind: 'number',
        description: 'Backing off exponentially, with jitter, between tries',
      },
      pause_after_failures: {
        label: 'Pause after failures in a row',
        kind: 'number',
        description: 'A subscription failing this many tries in a row is paused until resumed',
      },
    },
  },
  packages: {
    title: 'Packages',
    fields: {
      max_upload_mib: { label: 'Largest upload (MiB)', kind: 'number' },
      max_files: { label: 'Most files in a package', kind: 'number' },
      max_unpacked_mib: {
        label: 'Largest unpacked size (MiB)',
        kind: 'number',
        description: 'As the zip declares it and as it really inflates',
      },
    },
  },
  metrics: {
    title: 'Metrics history',
    fields: {
      raw_retention_hours: {
        label: 'Raw points kept (hours)',
        kind: 'number',
        description: "Instance-wide: the primary organisation's values count",
      },
      minute_retention_days: { label: '1-minute rollups kept (days)', kind: 'number' },
      hour_retention_days: { label: '1-hour rollups kept (days)', kind: 'number' },
    },
  },
  alerts: {
    title: 'Alerts',
    fields: {
      evaluation_interval_seconds: {
        label: 'Evaluate rules every (seconds)',
        kind: 'number',
        description: "Instance-wide: the primary organisation's value counts",
      },
    },
  },
};

/** The server names a bad key `body.<key>`: that message goes under the key's field. */
function GroupForm<G extends SettingsGroup>(props: { group: G; values: Settings[G]; canEdit: boolean }) {
  const { title, fields } = groups[props.group];
  const saved = props.values as Record<string, Value>;
  const [draft, setDraft] = useState<Record<string, Value>>(saved);
  const update = useUpdateSettings(props.group);
  const errors = fieldErrorsOf(update.error);
  const changed = Object.fromEntries(Object.entries(draft).filter(([key, value]) => value !== saved[key]));

  const set = (key: string, value: Value) => setDraft((d) => ({ ...d, [key]: value }));
  const save = () =>
    // The keys come from this group's own values, so the body is a part of the group.
    update.mutate(changed as Partial<Settings[G]>, {
      onSuccess: (after) => {
        setDraft(after);
        notifications.show({ color: 'green', message: `${title} settings saved` });
      },
    });

  return (
    <Paper withBorder p="md" data-testid={`settings-${props.group}`}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          save();
        }}
      >
        <Stack>
          <Title order={3}>{title}</Title>
          {Object.entries(fields as Record<string, Field>).map(([key, field]) => {
            const common = {
              label: field.label,
              description: field.description,
              error: errors[key],
              disabled: !props.canEdit,
            };
            const value = draft[key];
            switch (field.kind) {
              case 'switch':
                return (
                  <Switch
                    key={key}
                    {...common}
                    checked={value === true}
                    onChange={(e) => set(key, e.currentTarget.checked)}
                  />
                );
              case 'number':
                return (
                  <NumberInput
                    key={key}
                    {...common}
                    allowDecimal={false}
                    value={typeof value === 'number' ? value : ''}
                    onChange={(next) => set(key, next)}
                  />
                );
              case 'select':
                return (
                  <Select
                    key={key}
                    {...common}
                    data={field.options ?? []}
                    allowDeselect={false}
                    value={String(value)}
                    onChange={(next) => next && set(key, next)}
                  />
                );
              case 'secret':
                return (
                  <PasswordInput
                    key={key}
                    {...common}
                    placeholder="Not set"
                    value={String(value)}
                    onChange={(e) => set(key, e.currentTarget.value)}
                  />
                );
              case 'text':
                return (
                  <TextInput
                    key={key}
                    {...common}
                    value={String(value)}
                    onChange={(e) => set(key, e.currentTarget.value)}
                  />
                );
            }
          })}
          <RefusalAlert error={update.error} shown={Object.keys(fields)} />
          {props.canEdit && (
            <Group justify="flex-end">
              <Button type="submit" loading={update.isPending} disabled={Object.keys(changed).length === 0}>
                Save {title.toLowerCase()}
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Paper>
  );
}

/** Every settings group as its own form; secrets arrive masked and stay so unless retyped. */
export function SettingsPage() {
  const settings = useSettings();
  const canEdit = usePermission('settings:update');
  const data = settings.data;
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      {settings.error && <Alert color="red">{settings.error.message}</Alert>}
      {data && (
        <>
          <GroupForm group="general" values={data.general} canEdit={canEdit} />
          <GroupForm group="security" values={data.security} canEdit={canEdit} />
          <GroupForm group="jobs" values={data.jobs} canEdit={canEdit} />
          <GroupForm group="email" values={data.email} canEdit={canEdit} />
          <GroupForm group="logging" values={data.logging} canEdit={canEdit} />
          <GroupForm group="ai" values={data.ai} canEdit={canEdit} />
          <HousekeepingPanel />
        </>
      )}
    </Stack>
  );
}
