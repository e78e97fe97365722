import { Alert, Anchor, Code, Divider, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { usePermission } from '../auth/session';
import { DeployTokens } from './DeployTokens';
import { useDeployedServices } from './queries';

/** What each service published in its last successful deployment, as config tokens read it. */
function DeployedServices() {
  const deployed = useDeployedServices();
  const items = deployed.data?.items ?? [];
  return (
    <Stack>
      <Title order={4}>Deployed services</Title>
      {deployed.error && <Alert color="red">{deployed.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Service</Table.Th>
            <Table.Th>Deployed</Table.Th>
            <Table.Th>Published config</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((item) => (
            <Table.Tr key={item.service_id} data-testid="deployed-service-row">
              <Table.Td>
                <Anchor component={Link} to={`/services/${item.service_id}`}>
                  {item.service_name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/deployments/${item.deployment_id}`}>
                  {new Date(item.deployed_at).toLocaleString()}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Code block>{JSON.stringify(item.config ?? null, null, 2)}</Code>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {deployed.isSuccess && items.length === 0 && (
        <Text size="sm" c="dimmed" ta="center">
          No service has been deployed successfully yet.
        </Text>
      )}
    </Stack>
  );
}

/** Discovery: config tokens (read every service's published config) and what they read. */
export function DiscoveryPage() {
  const canSeeTokens = usePermission('deploy_tokens:read');
  const canSeeDeployed = usePermission('deployed_services:read');
  return (
    <Stack>
      <Title order={2}>Discovery</Title>
      {canSeeTokens && (
        <DeployTokens
          kind="config"
          title="Config tokens"
          hint="A config token reads GET /api/v1/deployed-services: the config every service published in its last successful deployment."
        />
      )}
      {canSeeTokens && canSeeDeployed && <Divider />}
      {canSeeDeployed && <DeployedServices />}
    </Stack>
  );
}
