import type { ComponentType } from 'react';
import { createBrowserRouter } from 'react-router';
import { PasswordResetPage } from './features/auth/PasswordResetPage';
import { RequireSession } from './features/auth/RequireSession';
import { SignInPage } from './features/auth/SignInPage';
import { NotFound } from './shell/EmptyStates';
import { Layout } from './shell/Layout';

/**
 * A page loaded when first visited: each is a chunk of its own, so signing in loads only the
 * shell, and one page's libraries (editors, drag and drop) never weigh on another.
 */
const page = (load: () => Promise<ComponentType>) => ({
  lazy: async () => ({ Component: await load() }),
});

export const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  { path: '/password-reset', element: <PasswordResetPage /> },
  {
    element: (
      <RequireSession>
        <Layout />
      </RequireSession>
    ),
    hydrateFallbackElement: null,
    children: [
      { index: true, ...page(async () => (await import('./features/overview/OverviewPage')).OverviewPage) },
      { path: 'fleet', ...page(async () => (await import('./features/fleet/FleetPage')).FleetPage) },
      { path: 'agents', ...page(async () => (await import('./features/agents/AgentsPage')).AgentsPage) },
      {
        path: 'agent-updates',
        ...page(async () => (await import('./features/agent-updates/AgentUpdatesPage')).AgentUpdatesPage),
      },
      {
        path: 'agents/:id',
        ...page(async () => (await import('./features/agents/AgentDetailPage')).AgentDetailPage),
      },
      {
        path: 'jobs/:id',
        ...page(async () => (await import('./features/execution/JobDetailPage')).JobDetailPage),
      },
      { path: 'runs', ...page(async () => (await import('./features/runs/RunsPage')).RunsPage) },
      { path: 'alerts', ...page(async () => (await import('./features/alerts/AlertsPage')).AlertsPage) },
      {
        path: 'runs/:id',
        ...page(async () => (await import('./features/runs/RunDetailPage')).RunDetailPage),
      },
      { path: 'scripts', ...page(async () => (await import('./features/scripts/ScriptsPage')).ScriptsPage) },
      {
        path: 'scripts/new',
        ...page(async () => (await import('./features/scripts/ScriptEditorPage')).ScriptEditorPage),
      },
      {
        path: 'scripts/:id',
        ...page(async () => (await import('./features/scripts/ScriptEditorPage')).ScriptEditorPage),
      },
      {
        path: 'profiles',
        ...page(async () => (await import('./features/profiles/ProfilesPage')).ProfilesPage),
      },
      {
        path: 'profiles/:id',
        ...page(async () => (await import('./features/profiles/ProfileDetailPage')).ProfilePage),
      },
      {
        path: 'templates/:id',
        ...page(async () => (await import('./features/profiles/ProfileDetailPage')).TemplatePage),
      },
      {
        path: 'schedules',
        ...page(async () => (await import('./features/schedules/SchedulesPage')).SchedulesPage),
      },
      {
        path: 'packages',
        ...page(async () => (await import('./features/packages/PackagesPage')).PackagesPage),
      },
      {
        path: 'processes',
        ...page(async () => (await import('./features/processes/ProcessesPage')).ProcessesPage),
      },
      {
        path: 'processes/:id',
        ...page(async () => (await import('./features/processes/ProcessDetailPage')).ProcessDetailPage),
      },
      {
        path: 'process-jobs',
        ...page(async () => (await import('./features/processjobs/ProcessJobsPage')).ProcessJobsPage),
      },
      {
        path: 'process-jobs/:id',
        ...page(
          async () => (await import('./features/processjobs/ProcessJobDetailPage')).ProcessJobDetailPage,
        ),
      },
      {
        path: 'queues',
        ...page(async () => (await import('./features/queues/QueuesPage')).QueuesPage),
      },
      {
        path: 'queues/:id',
        ...page(async () => (await import('./features/queues/QueueDetailPage')).QueueDetailPage),
      },
      {
        path: 'services',
        ...page(async () => (await import('./features/services/ServicesPage')).ServicesPage),
      },
      {
        path: 'services/new',
        ...page(async () => (await import('./features/services/ServicePage')).NewServicePage),
      },
      {
        path: 'services/:id',
        ...page(async () => (await import('./features/services/ServicePage')).ServicePage),
      },
      {
        path: 'deployments',
        ...page(async () => (await import('./features/deployments/DeploymentsPage')).DeploymentsPage),
      },
      {
        path: 'deployments/:id',
        ...page(
          async () => (await import('./features/deployments/DeploymentDetailPage')).DeploymentDetailPage,
        ),
      },
      {
        path: 'discovery',
        ...page(async () => (await import('./features/services/DiscoveryPage')).DiscoveryPage),
      },
      {
        path: 'enrollment',
        ...page(async () => (await import('./features/enrollment/EnrollmentPage')).EnrollmentPage),
      },
      {
        path: 'installers',
        ...page(async () => (await import('./features/installers/InstallersPage')).InstallersPage),
      },
      { path: 'audit', ...page(async () => (await import('./features/audit/AuditPage')).AuditPage) },
      {
        path: 'settings',
        ...page(async () => (await import('./features/settings/SettingsPage')).SettingsPage),
      },
      { path: 'users', ...page(async () => (await import('./features/access/UsersPage')).UsersPage) },
      { path: 'api-keys', ...page(async () => (await import('./features/apikeys/ApiKeysPage')).ApiKeysPage) },
      {
        path: 'webhooks',
        ...page(async () => (await import('./features/webhooks/WebhooksPage')).WebhooksPage),
      },
      {
        path: 'webhooks/:id',
        ...page(async () => (await import('./features/webhooks/WebhookDetailPage')).WebhookDetailPage),
      },
      { path: 'assets', ...page(async () => (await import('./features/assets/AssetsPage')).AssetsPage) },
      { path: 'robots', ...page(async () => (await import('./features/robots/RobotsPage')).RobotsPage) },
      { path: 'device', ...page(async () => (await import('./features/auth/DevicePage')).DevicePage) },
      {
        path: 'assistant',
        ...page(async () => (await import('./features/assistant/AssistantPage')).AssistantPage),
      },
      { path: '*', element: <NotFound /> },
    ],
  },
]);
