/** Every section of the console, in the order of the navigation; `ready: false` shows "coming". */
export const sections = [
  { path: '/', label: 'Overview', ready: true },
  { path: '/agents', label: 'Agents', ready: true },
  { path: '/runs', label: 'Runs', ready: true },
  { path: '/scripts', label: 'Scripts', ready: false },
  { path: '/profiles', label: 'Profiles & templates', ready: false },
  { path: '/schedules', label: 'Schedules', ready: true },
  { path: '/enrollment', label: 'Enrollment', ready: true },
  { path: '/audit', label: 'Audit', ready: true },
  { path: '/settings', label: 'Settings', ready: true },
  { path: '/users', label: 'Users & roles', ready: true },
  { path: '/api-keys', label: 'API keys', ready: true },
] as const;
