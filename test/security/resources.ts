import { expect } from 'vitest';
import { enroll, enrollmentToken, METRICS, ScriptedAgent } from '../support/agents.js';
import { processBody, uploadPackage } from '../processes/support.js';
import { call, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

/** One real resource of each main kind in the owner's organisation, and an agent's token. */
export interface Resources {
  agentToken: string;
  /** A registered runner robot's token, for the runner routes. */
  robotToken: string;
  /** A running deployment's FP_DEPLOYMENT_TOKEN, for the deploy script's routes. */
  deploymentToken: string;
  /** An enrollment token's secret, for the routes a new machine calls with it (its installer). */
  enrollmentToken: string;
  /** Resource ids by the path segment that names them (`agents`, `roles`, `jobs`…). */
  byPath: Record<string, string>;
  /** Ids of the rows inside another (`{taskId}`, `{targetId}`) by the path segment of their owner (`profiles`, `deployments`…). */
  tasks: Record<string, string>;
}

async function created(
  server: TestServer,
  owner: Session,
  route: string,
  body: unknown,
  pick: (reply: any) => string = (reply) => reply.id,
): Promise<string> {
  const reply = await call(server, 'POST', route, { token: owner.token, body });
  expect(reply.status, `${route}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
  return pick(reply.body);
}

async function firstTask(server: TestServer, owner: Session, route: string): Promise<string> {
  const reply = await call(server, 'GET', `${route}/tasks`, { token: owner.token });
  const first = (reply.body.items ?? reply.body)[0];
  if (!first) throw new Error(`${route}/tasks: ${JSON.stringify(reply.body)}`);
  return first.id;
}

/** A job of the agent, dispatched to it (claimed by a heartbeat), so that its events are taken. */
async function dispatchedJob(
  server: TestServer,
  owner: Session,
  agent: { agentId: string; agentToken: string },
): Promise<string> {
  const job = await created(server, owner, `/api/v1/agents/${agent.agentId}/jobs`, {
    interpreter: 'sh',
    command: 'echo walk',
  });
  const heartbeat = await call(server, 'POST', '/api/v1/agent/heartbeat', {
    token: agent.agentToken,
    body: {
      metrics: METRICS,
      running_job_ids: [],
    },
  });
  expect(heartbeat.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([job]);
  return job;
}

/** Creates them through the API, so that a walk reaches the code behind each route's 404. */
export async function seedResources(server: TestServer, owner: Session): Promise<Resources> {
  const token = await enrollmentToken(server, owner, { name: 'walk token' });
  const agent = await enroll(server, owner);
  const role = await created(server, owner, '/api/v1/access/roles', {
    name: 'walkers',
    permissions: ['audit:read'],
  });
  const task = { name: 'walk task', action: 'command', content: 'echo walk', interpreter: 'sh' };
  const script = await created(server, owner, '/api/v1/scripts', {
    name: 'walk script',
    language: 'sh',
    content: 'echo "$FP_PARAM_WORD"',
    parameters: [{ name: 'word', type: 'string' }],
  });
  const profile = await created(server, owner, '/api/v1/profiles', { name: 'walk profile', tasks: [task] });
  const template = await created(server, owner, '/api/v1/templates', {
    name: 'walk template',
    tasks: [task],
  });
  const byPath: Record<string, string> = {
    agents: agent.agentId,
    users: owner.userId,
    'enrollment-tokens': token.id,
    roles: role,
    scripts: script,
    profiles: profile,
    templates: template,
    invites: await created(
      server,
      owner,
      '/api/v1/access/invites',
      { email: 'walk-invite@example.test', role_id: role },
      (reply) => reply.invite.id,
    ),
    'api-keys': await created(
      server,
      owner,
      '/api/v1/api-keys',
      { name: 'walk key', role_id: role },
      (reply) => reply.key.id,
    ),
    'agent-groups': await created(server, owner, '/api/v1/agent-groups', { name: 'walk group' }),
    jobs: await dispatchedJob(server, owner, agent),
    runs: await created(server, owner, '/api/v1/runs', {
      job: { interpreter: 'sh', command: 'echo walk' },
      target: { agent_ids: [agent.agentId] },
    }),
    schedules: await created(server, owner, '/api/v1/schedules', {
      name: 'walk schedule',
      interval_seconds: 3600,
      action: { kind: 'script', script_id: script, parameters: { word: 'walk' } },
      target: { agent_ids: [agent.agentId] },
    }),
  };
  // The robot the `{id}` routes are walked with is not the runner whose token the walk speaks
  // with: a revoke-token call on it must not lock the walk out of the runner routes.
  byPath.robots = await created(
    server,
    owner,
    '/api/v1/robots',
    { name: 'walk robot', kind: 'agent', agent_id: agent.agentId },
    (reply) => reply.robot.id,
  );
  byPath.queues = await created(server, owner, '/api/v1/queues', { name: 'walk queue' });
  byPath['queue-items'] = await created(server, owner, `/api/v1/queues/${byPath.queues}/items`, {
    content: { walk: true },
  });
  // A process publishes an entry point of a package: one uploaded for it, as a console would.
  const processPackage = await uploadPackage(server, owner, 'walk-process-bot', '1.0.0');
  byPath.processes = await created(
    server,
    owner,
    '/api/v1/processes',
    processBody(processPackage.name, { name: 'walk process' }),
  );
  const runner = await call(server, 'POST', '/api/v1/robots', {
    token: owner.token,
    body: { name: 'walk runner', kind: 'runner' },
  });
  const registered = await call(server, 'POST', '/api/v1/runner/register', {
    body: { name: 'walk runner', machine_key: runner.body.machine_key },
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(200);
  // A service and its deployment for the `{id}` routes; its job waits for a machine with no agent.
  const service = (name: string, agentId: string) =>
    created(server, owner, '/api/v1/services', {
      name,
      script: { interpreter: 'sh', content: 'echo walk' },
      steps: ['walk'],
      runs_on: { type: 'agent', agent_id: agentId },
    });
  byPath.services = await service('walk-service', agent.agentId);
  byPath['deploy-tokens'] = await created(
    server,
    owner,
    '/api/v1/deploy-tokens',
    { kind: 'service', service_id: byPath.services, origin: 'walk', expires_in_days: 1 },
    (reply) => reply.token.id,
  );
  const deployment = await call(server, 'POST', '/api/v1/deployments', {
    token: owner.token,
    body: { service_id: byPath.services },
  });
  expect(deployment.status, JSON.stringify(deployment.body)).toBe(201);
  byPath.deployments = deployment.body.id;
  // Another, whose script a scripted agent holds: its token reports for the walk. The `{id}` routes
  // (cancel) never reach it.
  const scripted = await ScriptedAgent.enroll(server, owner, { hostname: 'walk-deployer' });
  await created(server, owner, '/api/v1/deployments', {
    service_id: await service('walk-script-service', scripted.id),
  });
  const deployJob = await scripted.next();
  const audit = await call(server, 'GET', '/api/v1/audit?limit=1', { token: owner.token });
  byPath.audit = audit.body.items[0].id;
  return {
    agentToken: agent.agentToken,
    robotToken: registered.body.robot_token,
    deploymentToken: deployJob.env.FP_DEPLOYMENT_TOKEN,
    enrollmentToken: token.secret,
    byPath,
    tasks: {
      profiles: await firstTask(server, owner, `/api/v1/profiles/${profile}`),
      templates: await firstTask(server, owner, `/api/v1/templates/${template}`),
      deployments: deployment.body.targets[0].id,
    },
  };
}
