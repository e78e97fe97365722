/** Every section of the console, in the order of the navigation. */
export const sections = [
  { path: '/', label: 'Overview' },
  { path: '/agents', label: 'Agents' },
  { path: '/runs', label: 'Runs' },
  { path: '/scripts', label: 'Scripts' },
  { path: '/profiles', label: 'Profiles & templates' },
  { path: '/schedules', label: 'Schedules' },
  { path: '/processes', label: 'Processes' },
  { path: '/enrollment', label: 'Enrollment' },
  { path: '/audit', label: 'Audit' },
  { path: '/settings', label: 'Settings' },
  { path: '/users', label: 'Users & roles' },
  { path: '/api-keys', label: 'API keys' },
] as const;
