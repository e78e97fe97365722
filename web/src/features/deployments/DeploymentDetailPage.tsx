import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { DeploymentStatusBadge, startedBy } from './DeploymentsPage';
import {
  useCancelDeployment,
  useContinueDeployment,
  useDeployment,
  useDeploymentUpdates,
  useTargetOutput,
  type DeploymentDetail,
  type Step,
  type Target,
} from './queries';

const OutputTerminal = lazy(() => import('../execution/OutputTerminal'));

const FINISHED = new Set(['succeeded', 'failed']);

const colors: Record<string, string> = {
  pending: 'gray',
  running: 'blue',
  done: 'teal',
  succeeded: 'green',
  success: 'green',
  failed: 'red',
  failure: 'red',
  canceled: 'gray',
};

function StateBadge({ state, testId }: { state: string; testId: string }) {
  return (
    <Badge color={colors[state] ?? 'gray'} variant="light" data-testid={testId}>
      {state}
    </Badge>
  );
}

function Fact({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {value ?? '—'}
      </Text>
    </div>
  );
}

const timeOf = (iso: string | null) => iso && new Date(iso).toLocaleString();

/** Cancel while it runs; Continue while a rollout waits between batches. */
function Actions({ deployment }: { deployment: DeploymentDetail }) {
  const canExecute = usePermission('deployments:execute');
  const cancel = useCancelDeployment(deployment.id);
  const proceed = useContinueDeployment(deployment.id);
  if (!canExecute || FINISHED.has(deployment.status)) return null;
  const confirmCancel = () =>
    confirmDestructive({
      title: 'Cancel this deployment?',
      body: 'Machines not started are canceled; running scripts are stopped.',
      confirm: 'Cancel deployment',
      keep: 'Keep it',
      run: () => cancel.mutateAsync(),
    });
  return (
    <Group>
      {(deployment.awaiting_continue || deployment.status === 'paused') && (
        <Button
          onClick={() => proceed.mutate(undefined, { onError: notifyFailure('Continue failed') })}
          loading={proceed.isPending}
        >
          Continue
        </Button>
      )}
      <Button color="red" variant="light" onClick={confirmCancel} loading={cancel.isPending}>
        Cancel
      </Button>
    </Group>
  );
}

function Batches({ deployment }: { deployment: DeploymentDetail }) {
  return (
    <Table striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Batch</Table.Th>
          <Table.Th>Machines</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Counts</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {deployment.batches.map((batch) => (
          <Table.Tr key={batch.index} data-testid="batch-row">
            <Table.Td>{batch.index + 1}</Table.Td>
            <Table.Td>{batch.size}</Table.Td>
            <Table.Td>
              <StateBadge state={batch.status} testId="batch-status" />
            </Table.Td>
            <Table.Td>
              {Object.entries(batch.counts)
                .filter(([, n]) => n > 0)
                .map(([state, n]) => `${n} ${state}`)
                .join(', ') || '—'}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Steps({ steps }: { steps: Step[] }) {
  if (steps.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No step reported yet.
      </Text>
    );
  return (
    <Table>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Step</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>Message</Table.Th>
          <Table.Th>Started</Table.Th>
          <Table.Th>Finished</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {steps.map((step) => (
          <Table.Tr key={step.name} data-testid="step-row" data-step={step.name}>
            <Table.Td>{step.name}</Table.Td>
            <Table.Td>
              <StateBadge state={step.state} testId="step-state" />
            </Table.Td>
            <Table.Td>
              {step.message || '—'}
              {step.error_message && (
                <Text size="sm" c="red">
                  {step.error_message}
                </Text>
              )}
            </Table.Td>
            <Table.Td>{timeOf(step.started_at) ?? '—'}</Table.Td>
            <Table.Td>{timeOf(step.finished_at) ?? '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** One machine: its agent, batch, state and the steps its script reported. */
function Machine({ target }: { target: Target }) {
  return (
    <Card withBorder data-testid="target-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Group>
            <Anchor component={Link} to={`/agents/${target.agent_id}`} fw={500}>
              {target.agent_name}
            </Anchor>
            <StateBadge state={target.status} testId="target-status" />
            <Text size="xs" c="dimmed">
              batch {target.batch + 1}
            </Text>
          </Group>
          <Text size="xs" c="dimmed">
            {timeOf(target.started_at) ?? 'not started'}
            {target.finished_at && ` → ${timeOf(target.finished_at)}`}
          </Text>
        </Group>
        {target.error && (
          <Alert color="red" p="xs">
            {target.error}
          </Alert>
        )}
        <Steps steps={target.steps} />
      </Stack>
    </Card>
  );
}

/** The script's output on the machine picked: what is stored, then live while it runs. */
function MachineOutput({ deployment }: { deployment: DeploymentDetail }) {
  const withJobs = deployment.targets.filter((target) => target.job_id !== null);
  const [picked, setPicked] = useState<string | null>(null);
  const target = withJobs.find((t) => t.id === picked) ?? withJobs[0];
  const text = useTargetOutput(deployment.id, target);
  return (
    <Stack gap="xs">
      <Group>
        <Title order={4}>Output</Title>
        <Select
          aria-label="Machine"
          data={withJobs.map((t) => ({ value: t.id, label: t.agent_name }))}
          value={target?.id ?? null}
          onChange={setPicked}
          allowDeselect={false}
          placeholder="No machine started yet"
          w={260}
        />
      </Group>
      {target ? (
        <Suspense fallback={<Loader size="sm" aria-label="Loading the terminal" />}>
          <OutputTerminal key={target.id} text={text} />
        </Suspense>
      ) : (
        <Text size="sm" c="dimmed">
          None yet: it shows here, live, once a machine starts the script.
        </Text>
      )}
    </Stack>
  );
}

function EnvBlock({ deployment }: { deployment: DeploymentDetail }) {
  const lines = [
    ...Object.entries(deployment.env).map(([name, value]) => `${name}=${value}`),
    ...Object.entries(deployment.secret_env).map(([name, value]) => `${name}=${value}`),
  ];
  return (
    <Stack gap={4}>
      <Text fw={500}>Environment</Text>
      {lines.length > 0 ? (
        <Code block data-testid="deployment-env">
          {lines.join('\n')}
        </Code>
      ) : (
        <Text size="sm" c="dimmed">
          None given for this deployment.
        </Text>
      )}
    </Stack>
  );
}

/** One deployment: who started it, its batches, each machine's steps live, output and config. */
export function DeploymentDetailPage() {
  const { id = '' } = useParams();
  const deployment = useDeployment(id);
  useDeploymentUpdates();
  const back = (
    <Anchor component={Link} to="/deployments" size="sm">
      ← Deployments
    </Anchor>
  );

  if (deployment.isPending) return <Loader />;
  if (deployment.error)
    return (
      <Stack>
        {back}
        <Alert color="red">{deployment.error.message}</Alert>
      </Stack>
    );
  const data = deployment.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Stack gap={0}>
          <Text size="sm" c="dimmed">
            Deployment
          </Text>
          <Group>
            <Title order={2}>{data.service_name}</Title>
            <DeploymentStatusBadge status={data.status} />
            {data.awaiting_continue && <Badge color="yellow">waiting for Continue</Badge>}
          </Group>
        </Stack>
        <Actions deployment={data} />
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Fact
            label="Service"
            value={
              <Anchor component={Link} to={`/services/${data.service_id}`}>
                {data.service_name}
              </Anchor>
            }
          />
          <Fact label="Origin" value={data.origin} />
          <Fact label="Started by" value={startedBy(data)} />
          <Fact label="Started" value={timeOf(data.created_at)} />
          <Fact label="Finished" value={timeOf(data.finished_at)} />
          <Fact
            label="Batch"
            value={
              data.batch_count > 0
                ? `${Math.min(data.current_batch + 1, data.batch_count)} of ${data.batch_count}`
                : null
            }
          />
          <Fact label="Next batch" value={timeOf(data.next_batch_at)} />
          <Fact label="Steps planned" value={data.steps_planned.join(' → ') || null} />
        </SimpleGrid>
      </Card>
      {data.error && (
        <Alert color="red" title="Error" data-testid="deployment-error">
          {data.error}
        </Alert>
      )}
      <EnvBlock deployment={data} />
      {data.batches.length > 0 && (
        <Stack gap="xs">
          <Title order={4}>Batches</Title>
          <Batches deployment={data} />
        </Stack>
      )}
      <Title order={4}>Machines</Title>
      {data.targets.length === 0 && (
        <Text size="sm" c="dimmed">
          No machine matched.
        </Text>
      )}
      {data.targets.map((target) => (
        <Machine key={target.id} target={target} />
      ))}
      <MachineOutput deployment={data} />
      <Stack gap={4}>
        <Text fw={500}>Published config</Text>
        {data.config === null || data.config === undefined ? (
          <Text size="sm" c="dimmed" data-testid="deployment-config">
            None published yet.
          </Text>
        ) : (
          <Code block data-testid="deployment-config">
            {JSON.stringify(data.config, null, 2)}
          </Code>
        )}
      </Stack>
    </Stack>
  );
}
