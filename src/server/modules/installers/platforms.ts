import type { BuildArch, BuildOs } from '../agent-builds/agent-builds.js';
import type { InstallLocations } from './installers.schemas.js';

export const installLocations: Record<BuildOs, InstallLocations> = {
  linux: {
    binary: '/opt/fleetplane-agent/fleetplane-agent',
    state: '/var/lib/fleetplane-agent',
    service: '/etc/systemd/system/fleetplane-agent.service',
  },
  darwin: {
    binary: '/usr/local/fleetplane-agent/fleetplane-agent',
    state: '/Library/Application Support/Fleetplane Agent',
    service: '/Library/LaunchDaemons/com.fleetplane.agent.plist',
  },
  windows: {
    binary: 'C:\\Program Files\\Fleetplane Agent\\fleetplane-agent.exe',
    state: 'C:\\ProgramData\\Fleetplane Agent',
    service: 'scheduled task "Fleetplane Agent" (at startup, as SYSTEM)',
  },
};

export const platforms: { os: BuildOs; arch: BuildArch }[] = [
  { os: 'linux', arch: 'x64' },
  { os: 'linux', arch: 'arm64' },
  { os: 'darwin', arch: 'x64' },
  { os: 'darwin', arch: 'arm64' },
  { os: 'windows', arch: 'x64' },
  { os: 'windows', arch: 'arm64' },
];

/**
 * The build a platform is served. Node publishes no darwin-arm64 binary on npm, so Apple silicon
 * gets the darwin-x64 agent, which runs under Rosetta 2, unless a darwin-arm64 build exists.
 */
export function servedPlatform(os: BuildOs, arch: BuildArch): { os: BuildOs; arch: BuildArch }[] {
  return os === 'darwin' && arch === 'arm64'
    ? [
        { os, arch },
        { os, arch: 'x64' },
      ]
    : [{ os, arch }];
}

export const ROSETTA_NOTE =
  'macOS on Apple silicon runs the x64 agent under Rosetta 2: Node publishes no darwin-arm64 binary on npm';

export function scriptFileName(os: BuildOs, arch: BuildArch): string {
  return `fleetplane-install-${os}-${arch}.${os === 'windows' ? 'ps1' : 'sh'}`;
}

export function scriptPath(os: BuildOs, arch: BuildArch | '{arch}'): string {
  return `/api/v1/installers/${os}/${arch}/script`;
}

/** What an installer embeds: checked (no control characters) and quoted where it is written. */
export interface InstallerValues {
  os: BuildOs;
  /** The platform asked for. */
  arch: BuildArch;
  /** The build's architecture, which differs on Apple silicon (x64 under Rosetta 2). */
  servedArch: BuildArch;
  /** The server's base URL, without a trailing slash. */
  server: string;
  token: string;
  version: string;
  sha256: string;
  downloadUrl: string;
  /** The executable's name in the offline zip. */
  executableName: string;
  /** Installs the executable beside the script instead of downloading it (the offline zip). */
  offline: boolean;
}
