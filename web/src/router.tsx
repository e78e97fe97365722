import { createBrowserRouter } from 'react-router';
import { PasswordResetPage } from './features/auth/PasswordResetPage';
import { RequireSession } from './features/auth/RequireSession';
import { SignInPage } from './features/auth/SignInPage';
import { AgentDetailPage } from './features/agents/AgentDetailPage';
import { AgentsPage } from './features/agents/AgentsPage';
import { ApiKeysPage } from './features/apikeys/ApiKeysPage';
import { UsersPage } from './features/access/UsersPage';
import { AuditPage } from './features/audit/AuditPage';
import { EnrollmentPage } from './features/enrollment/EnrollmentPage';
import { JobDetailPage } from './features/execution/JobDetailPage';
import { OverviewPage } from './features/overview/OverviewPage';
import { RunDetailPage } from './features/runs/RunDetailPage';
import { RunsPage } from './features/runs/RunsPage';
import { SchedulesPage } from './features/schedules/SchedulesPage';
import { SettingsPage } from './features/settings/SettingsPage';
import { ComingSoon, NotFound } from './shell/EmptyStates';
import { Layout } from './shell/Layout';
import { sections } from './shell/sections';

export const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  { path: '/password-reset', element: <PasswordResetPage /> },
  {
    element: (
      <RequireSession>
        <Layout />
      </RequireSession>
    ),
    children: [
      { index: true, element: <OverviewPage /> },
      { path: 'agents', element: <AgentsPage /> },
      { path: 'agents/:id', element: <AgentDetailPage /> },
      { path: 'jobs/:id', element: <JobDetailPage /> },
      { path: 'runs', element: <RunsPage /> },
      { path: 'runs/:id', element: <RunDetailPage /> },
      { path: 'enrollment', element: <EnrollmentPage /> },
      { path: 'audit', element: <AuditPage /> },
      { path: 'schedules', element: <SchedulesPage /> },
      { path: 'settings', element: <SettingsPage /> },
      { path: 'users', element: <UsersPage /> },
      { path: 'api-keys', element: <ApiKeysPage /> },
      ...sections
        .filter((section) => !section.ready)
        .map((section) => ({ path: section.path, element: <ComingSoon title={section.label} /> })),
      { path: '*', element: <NotFound /> },
    ],
  },
]);
