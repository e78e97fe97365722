import type { Services } from '../server/app.js';
import type { RequestContext } from '../server/modules/access/context.js';
import type { BuiltinRoleName } from '../server/modules/access/permissions.js';

/** The demo organisation as the seed made it: its owner acts for every step. */
export interface DemoOrg {
  orgId: string;
  /** The owner, acting through the services (validation and audit apply as for a request). */
  owner: RequestContext;
  /** Built-in role ids by name. */
  roles: Record<BuiltinRoleName, string>;
  /** Ids of what the steps made, by a name a later step can ask for (`script:ping-linux`). */
  made: Map<string, string>;
}

/**
 * One part of the demo content: it makes its rows through the services and answers the lines the
 * seed prints (a secret shown once, say). Steps run in order, so a step may use what earlier ones made.
 */
export type DemoStep = (services: Services, demo: DemoOrg) => Promise<string[]>;

function made(demo: DemoOrg, key: string): string {
  const id = demo.made.get(key);
  if (!id) throw new Error(`demo content: ${key} was not made by an earlier step`);
  return id;
}

const PING_LINUX = `#!/bin/sh
# Is the WAN reachable? Pings a public resolver, then resolves a name through DNS.
target="\${FP_PARAM_TARGET:-1.1.1.1}"
if ping -c 3 -W 2 "$target" >/dev/null 2>&1; then echo "WAN ok: $target answers"; else echo "WAN DOWN: $target does not answer" >&2; exit 1; fi
getent hosts example.com >/dev/null && echo "DNS ok" || { echo "DNS failing" >&2; exit 2; }
`;

const PING_WINDOWS = `# Is the WAN reachable? Pings a public resolver, then resolves a name through DNS.
$target = if ($env:FP_PARAM_TARGET) { $env:FP_PARAM_TARGET } else { '1.1.1.1' }
if (Test-Connection -ComputerName $target -Count 3 -Quiet) { "WAN ok: $target answers" } else { Write-Error "WAN DOWN: $target does not answer"; exit 1 }
try { Resolve-DnsName example.com -ErrorAction Stop | Out-Null; 'DNS ok' } catch { Write-Error 'DNS failing'; exit 2 }
`;

const DISK_LINUX = `#!/bin/sh
# Disk usage per file system; fails when one is fuller than the threshold.
threshold="\${FP_PARAM_THRESHOLD:-90}"
df -hP -x tmpfs -x devtmpfs
df -P -x tmpfs -x devtmpfs | awk -v t="$threshold" 'NR>1 { sub("%","",$5); if ($5+0 > t) { print "FULL: " $6 " at " $5 "%"; bad=1 } } END { exit bad }'
`;

const DISK_WINDOWS = `# Disk usage per fixed drive; fails when one is fuller than the threshold.
$threshold = if ($env:FP_PARAM_THRESHOLD) { [int]$env:FP_PARAM_THRESHOLD } else { 90 }
$full = $false
Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | ForEach-Object {
  $used = [math]::Round(100 - ($_.FreeSpace / $_.Size * 100), 1)
  "{0} {1:N1} GiB free of {2:N1} GiB ({3}% used)" -f $_.DeviceID, ($_.FreeSpace / 1GB), ($_.Size / 1GB), $used
  if ($used -gt $threshold) { Write-Error "FULL: $($_.DeviceID) at $used%"; $full = $true }
}
if ($full) { exit 1 }
`;

const target = {
  name: 'target',
  type: 'string' as const,
  default: '1.1.1.1',
  description: 'Address to ping',
};
const threshold = {
  name: 'threshold',
  type: 'number' as const,
  default: 90,
  description: 'Percent used that fails',
};

/** The library: a "ping the WAN" check and a disk report, each for Linux and for Windows. */
const scripts: DemoStep = async (services, demo) => {
  const library = [
    {
      key: 'ping-linux',
      name: 'Ping the WAN (Linux)',
      language: 'sh',
      os: 'linux',
      content: PING_LINUX,
      parameters: [target],
    },
    {
      key: 'ping-windows',
      name: 'Ping the WAN (Windows)',
      language: 'powershell',
      os: 'windows',
      content: PING_WINDOWS,
      parameters: [target],
    },
    {
      key: 'disk-linux',
      name: 'Disk report (Linux)',
      language: 'sh',
      os: 'linux',
      content: DISK_LINUX,
      parameters: [threshold],
    },
    {
      key: 'disk-windows',
      name: 'Disk report (Windows)',
      language: 'powershell',
      os: 'windows',
      content: DISK_WINDOWS,
      parameters: [threshold],
    },
  ] as const;
  for (const script of library) {
    const created = await services.scripts.create(demo.owner, {
      name: script.name,
      description: script.name.startsWith('Ping')
        ? 'Checks that the machine reaches the internet and resolves names'
        : 'Lists disk usage and fails when a disk is nearly full',
      language: script.language,
      content: script.content,
      target_os_type: script.os,
      parameters: [...script.parameters],
      tags: ['demo', script.os],
      timeout_seconds: 60,
    });
    demo.made.set(`script:${script.key}`, created.id);
  }
  return [`scripts: ${library.map((s) => s.name).join(', ')}`];
};

/** A baseline profile per platform: the checks every new machine gets. */
const profiles: DemoStep = async (services, demo) => {
  for (const os of ['linux', 'windows'] as const) {
    const title = os === 'linux' ? 'Linux' : 'Windows';
    const profile = await services.profiles.create(demo.owner, 'profile', {
      name: `${title} baseline`,
      description: `What every ${title} machine should pass: it reaches the WAN and has disk to spare`,
      target_os_type: os,
      tasks: [
        { name: 'WAN reachable', action: 'script', script_id: made(demo, `script:ping-${os}`) },
        {
          name: 'Disk report',
          action: 'script',
          script_id: made(demo, `script:disk-${os}`),
          parameters: { threshold: 85 },
          continue_on_error: true,
        },
      ],
    });
    demo.made.set(`profile:${os}`, profile.id);
  }
  return ['profiles: Linux baseline, Windows baseline'];
};

/** A nightly disk report on the Linux machines (tagged `linux`). */
const schedule: DemoStep = async (services, demo) => {
  const created = await services.schedules.create(demo.owner, {
    name: 'Nightly disk report',
    description: 'Every night at 02:00 (the organisation time zone), on machines tagged linux',
    action: { kind: 'script', script_id: made(demo, 'script:disk-linux'), parameters: { threshold: 90 } },
    target: { tags: ['linux'] },
    cron: '0 2 * * *',
  });
  demo.made.set('schedule:disk', created.id);
  return [`schedule: ${created.name} (${created.cron} ${created.timezone})`];
};

/** An operator key for a CI pipeline: its secret is printed once. */
const apiKey: DemoStep = async (services, demo) => {
  const { key, secret } = await services.apiKeys.create(demo.owner, {
    name: 'CI pipeline',
    role_id: demo.roles.operator,
  });
  demo.made.set('api_key:ci', key.id);
  return [`API key "${key.name}" (operator, shown once): ${secret}`];
};

/**
 * A webhook for finished jobs and runs and for agents going offline. Its address is a
 * documentation one (TEST-NET-3, no DNS needed when seeding offline), so it starts disabled:
 * point it at a real receiver and enable it. Its signing secret is printed once.
 */
const webhook: DemoStep = async (services, demo) => {
  const { webhook: created, secret } = await services.webhooks.create(demo.owner, {
    url: 'https://203.0.113.10/hooks/fleetplane',
    description: 'Chat-ops bridge: failed jobs and runs, agents going offline (example address)',
    events: ['job.finished', 'run.finished', 'agent.offline'],
    enabled: false,
  });
  demo.made.set('webhook:chatops', created.id);
  return [`webhook ${created.url} (disabled; signing secret, shown once): ${secret}`];
};

/**
 * An email channel to the on-call owner and three rules a fleet would start with: a machine
 * offline for 10 minutes, a Linux disk above 90% for 15, the nightly disk report failing.
 */
const alerts: DemoStep = async (services, demo) => {
  const { channels, rules } = services.alerting;
  const channel = await channels.create(demo.owner, {
    name: 'On-call mail',
    kind: 'email',
    config: { to: ['owner@demo.fleetplane.local'] },
  });
  const created = await Promise.all(
    [
      {
        name: 'Machine offline',
        kind: 'agent_offline' as const,
        params: { selector: { all: true }, minutes: 10 },
        severity: 'critical' as const,
      },
      {
        name: 'Linux disk filling up',
        kind: 'metric_above' as const,
        params: {
          selector: { tags: ['linux'] },
          metric: 'disk_percent' as const,
          threshold: 90,
          minutes: 15,
        },
        severity: 'warning' as const,
      },
      {
        name: 'Nightly disk report failed',
        kind: 'job_failed' as const,
        params: { schedule_id: made(demo, 'schedule:disk') },
        severity: 'warning' as const,
      },
    ].map((rule) => rules.create(demo.owner, { ...rule, channel_ids: [channel.id] })),
  );
  return [`alerts: ${created.map((rule) => rule.name).join(', ')}, told by mail to the owner`];
};

/**
 * What the seed makes after the organisation and its users, in order. Add a step here for new
 * demo content (alert rules, a webhook): it gets the owner's context and what earlier steps made.
 */
export const demoSteps: DemoStep[] = [scripts, profiles, schedule, apiKey, webhook, alerts];
