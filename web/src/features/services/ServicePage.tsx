import { Alert, Anchor, Badge, Button, Divider, Group, Loader, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { Link, useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, DONE_HERE } from '../../shell/confirm';
import { DeployModal } from './DeployModal';
import { DeployTokens } from './DeployTokens';
import { useCreateService, useDeleteService, useService, useUpdateService, type Service } from './queries';
import { ServiceForm } from './ServiceForm';

const back = (
  <Anchor component={Link} to="/services" size="sm">
    ← Services
  </Anchor>
);

/** `/services/new`: a service defined in the console; saved, its page opens. */
export function NewServicePage() {
  const navigate = useNavigate();
  const create = useCreateService();
  return (
    <Stack>
      {back}
      <Title order={2}>New service</Title>
      <ServiceForm
        readOnly={false}
        pending={create.isPending}
        error={create.error}
        submitLabel="Create"
        onSubmit={(body) =>
          create.mutate(body, {
            onSuccess: (created) => void navigate(`/services/${created.id}`, { state: DONE_HERE }),
          })
        }
      />
    </Stack>
  );
}

/** `/services/:id`: its definition (editable by whoever may), Deploy, delete and its tokens. */
export function ServicePage() {
  const { id = '' } = useParams();
  const service = useService(id);
  const update = useUpdateService(id);
  const canUpdate = usePermission('services:update');
  const canDelete = usePermission('services:delete');
  const canDeploy = usePermission('deployments:execute');
  const canSeeTokens = usePermission('deploy_tokens:read');
  const [deploying, deployModal] = useDisclosure();
  // no live refresh here: a change made elsewhere would re-key the form and drop unsaved edits
  const remove = useDeleteService();

  if (service.isPending) return <Loader />;
  if (service.error)
    return (
      <Stack>
        {back}
        <Alert color="red">{service.error.message}</Alert>
      </Stack>
    );
  const data = service.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <Badge variant="light" color={data.source === 'directory' ? 'grape' : 'gray'}>
            {data.folder ? `directory: ${data.folder}` : data.source}
          </Badge>
        </Group>
        <Group>
          <Button variant="default" component={Link} to={`/deployments?service_id=${data.id}`}>
            Deployments
          </Button>
          {canDeploy && <Button onClick={deployModal.open}>Deploy</Button>}
          {canDelete && <DeleteButton service={data} remove={remove} />}
        </Group>
      </Group>
      {remove.error && (
        <Alert color="red" title="Not deleted" data-testid="delete-refused">
          {remove.error.message}
        </Alert>
      )}
      {data.source === 'directory' && (
        <Text size="sm" c="dimmed">
          Synced from the services directory: a change made here lasts until the next sync brings the
          folder&apos;s definition back.
        </Text>
      )}
      <ServiceForm
        key={`${data.id}-${data.updated_at}`}
        service={data}
        readOnly={!canUpdate}
        pending={update.isPending}
        error={update.error}
        submitLabel="Save"
        onSubmit={(body) =>
          update.mutate(body, {
            onSuccess: (saved) => notifications.show({ color: 'green', message: `${saved.name} saved` }),
          })
        }
      />
      {canSeeTokens && (
        <>
          <Divider />
          <DeployTokens
            kind="service"
            serviceId={data.id}
            title="Service tokens"
            hint="CI deploys this service with a service token: POST /api/v1/deployments with it as the bearer."
          />
        </>
      )}
      <DeployModal service={data} opened={deploying} onClose={deployModal.close} />
    </Stack>
  );
}

/** Delete, once confirmed; a refusal (409 while its deployments run) shows on the page. */
function DeleteButton(props: { service: Service; remove: ReturnType<typeof useDeleteService> }) {
  const navigate = useNavigate();
  const { service, remove } = props;
  const confirm = () =>
    confirmDestructive({
      title: `Delete ${service.name}?`,
      body: 'The service and its deploy tokens go; its past deployments stay.',
      confirm: 'Delete',
      // a refusal stays on the page (the alert under the title), not in a passing notification
      run: () =>
        remove.mutate(service.id, { onSuccess: () => void navigate('/services', { state: DONE_HERE }) }),
    });
  return (
    <Button color="red" variant="light" onClick={confirm} loading={remove.isPending}>
      Delete
    </Button>
  );
}
