import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { CodeTextarea } from '../../shell/CodeTextarea';
import { RefusalAlert } from '../../shell/refusal';
import { SecretEnvEditor, secretEnvOf, type SecretVar } from '../profiles/SecretEnvEditor';
import { useStartDeployment, type Service } from './queries';

/** `NAME=value` lines as variables, or the first line that is not one. */
export function parseEnvLines(text: string): { env: Record<string, string> } | { problem: string } {
  const env: Record<string, string> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) return { problem: `line ${index + 1}: NAME=value expected` };
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return { env };
}

/**
 * Deploys a service, with variables for this deployment only laid over the service's own;
 * states: form → started (the deployment's page); a refusal stays on the form.
 */
export function DeployModal(props: { service: Service; opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const start = useStartDeployment();
  const [env, setEnv] = useState('');
  const [secrets, setSecrets] = useState<SecretVar[]>([]);
  const parsed = parseEnvLines(env);
  const close = () => {
    start.reset();
    props.onClose();
  };
  const deploy = () => {
    if ('problem' in parsed) return;
    start.mutate(
      {
        service_id: props.service.id,
        env: parsed.env,
        secret_env: secretEnvOf(secrets),
        origin: 'console',
      },
      { onSuccess: (deployment) => void navigate(`/deployments/${deployment.id}`) },
    );
  };
  return (
    <Modal opened={props.opened} onClose={close} title={`Deploy ${props.service.name}`} size="lg">
      <Stack>
        <Text size="sm">
          The deploy script runs on {runsOnText(props.service)}. Variables given here are for this deployment
          only.
        </Text>
        <CodeTextarea
          label="Environment"
          description="NAME=value, one a line"
          value={env}
          onChange={(e) => setEnv(e.currentTarget.value)}
          error={'problem' in parsed ? parsed.problem : undefined}
        />
        <SecretEnvEditor value={secrets} onChange={setSecrets} errorOf={() => undefined} />
        <RefusalAlert error={start.error} />
        <Group justify="flex-end">
          <Button onClick={deploy} loading={start.isPending} disabled={'problem' in parsed}>
            Deploy now
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function runsOnText(service: Service): string {
  const runsOn = service.runs_on;
  if (runsOn.type === 'server') return 'the server';
  if (runsOn.type === 'agent') return 'one agent';
  return 'every agent the selector matches, batch by batch';
}
