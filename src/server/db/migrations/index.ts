import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_fleet.js';
import * as m0003 from './0003_scripts.js';
import * as m0004 from './0004_profiles.js';
import * as m0005 from './0005_schedules.js';
import * as m0006 from './0006_job_claim_index.js';
import * as m0007 from './0007_secret_env.js';
import * as m0008 from './0008_job_states.js';
import * as m0009 from './0009_max_attempts.js';
import * as m0010 from './0010_pooled_jobs.js';
import * as m0011 from './0011_packages.js';
import * as m0012 from './0012_robots.js';
import * as m0013 from './0013_queues.js';
import * as m0014 from './0014_assets.js';
import * as m0015 from './0015_sdk_devices.js';
import * as m0016 from './0016_processes.js';
import * as m0017 from './0017_process_jobs.js';
import * as m0018 from './0018_deployments.js';
import * as m0019 from './0019_node_leases.js';
import * as m0020 from './0020_metrics.js';
import * as m0021 from './0021_alerts.js';
import * as m0022 from './0022_webhooks.js';
import * as m0023 from './0023_housekeeping.js';
import * as m0024 from './0024_assistant.js';
import * as m0025 from './0025_agent_updates.js';
import * as m0026 from './0026_agent_requests.js';
import * as m0027 from './0027_update_states_from_agents.js';

/** Listed statically so the same migrations run from source and from the built package. */
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_fleet': m0002,
  '0003_scripts': m0003,
  '0004_profiles': m0004,
  '0005_schedules': m0005,
  '0006_job_claim_index': m0006,
  '0007_secret_env': m0007,
  '0008_job_states': m0008,
  '0009_max_attempts': m0009,
  '0010_pooled_jobs': m0010,
  '0011_packages': m0011,
  '0012_robots': m0012,
  '0013_queues': m0013,
  '0014_assets': m0014,
  '0015_sdk_devices': m0015,
  '0016_processes': m0016,
  '0017_process_jobs': m0017,
  '0018_deployments': m0018,
  '0019_node_leases': m0019,
  '0020_metrics': m0020,
  '0021_alerts': m0021,
  '0022_webhooks': m0022,
  '0023_housekeeping': m0023,
  '0024_assistant': m0024,
  '0025_agent_updates': m0025,
  '0026_agent_requests': m0026,
  '0027_update_states_from_agents': m0027,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
