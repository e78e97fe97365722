import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentFacts, AgentMetrics } from '../protocol/agent.js';
import type { Interpreter, OsType } from '../protocol/jobs.js';
import { agentVersion, isSingleExecutable } from './version.js';

/** What the agent knows about the machine: sent at registration, in hello and to HTTP heartbeats. */

interface OsInfo {
  os_type: OsType;
  os_version: string;
}

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) fields[match[1]] = (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

/**
 * Maps a Linux distribution to the OS types the server knows. Proxmox VE reports itself as
 * Debian, so the caller tells whether Proxmox tools are installed; RHEL rebuilds (Rocky, Alma)
 * count as rhel and Ubuntu derivatives as ubuntu, since scripts written for one run on the other.
 */
export function linuxOsType(osRelease: Record<string, string>, proxmox: boolean): OsType {
  if (proxmox) return 'proxmox';
  const id = (osRelease.ID ?? '').toLowerCase();
  const like = (osRelease.ID_LIKE ?? '').toLowerCase().split(/\s+/);
  for (const known of ['ubuntu', 'debian', 'rhel', 'centos'] as const) if (id === known) return known;
  if (like.includes('rhel')) return 'rhel';
  if (like.includes('ubuntu')) return 'ubuntu';
  if (like.includes('debian')) return 'debian';
  return 'linux';
}

/** Windows Server and client share kernel versions; only the product name tells them apart. */
export function windowsOsType(productName: string): OsType {
  return /server/i.test(productName) ? 'windows_server' : 'windows';
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function detectOs(platform: NodeJS.Platform): OsInfo {
  if (platform === 'linux') {
    const release = parseOsRelease(readText('/etc/os-release') ?? '');
    const proxmox = existsSync('/usr/bin/pveversion');
    return { os_type: linuxOsType(release, proxmox), os_version: release.VERSION_ID ?? os.release() };
  }
  if (platform === 'darwin') {
    // os.release() is the Darwin kernel version; the product version is in this plist
    const plist = readText('/System/Library/CoreServices/SystemVersion.plist') ?? '';
    const version = /<key>ProductVersion<\/key>\s*<string>([^<]+)<\/string>/.exec(plist)?.[1];
    return { os_type: 'macos', os_version: version ?? os.release() };
  }
  if (platform === 'win32') return { os_type: windowsOsType(os.version()), os_version: os.release() };
  return { os_type: 'other', os_version: os.release() };
}

/** The first non-internal IPv4 address: what an operator would type to reach the machine. */
export function pickIpv4(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string | undefined {
  for (const addresses of Object.values(interfaces)) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}

function pathValue(env: NodeJS.ProcessEnv): string {
  // Windows spells it Path, and a copied env object is no longer case-insensitive
  const entry = Object.entries(env).find(([key]) => key.toUpperCase() === 'PATH');
  return entry?.[1] ?? '';
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds a program on PATH the way the OS would (PATHEXT on Windows); returns its full path. */
function findOnPath(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  const windows = platform === 'win32';
  const delimiter = windows ? ';' : ':';
  const extensions = windows ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';') : [''];
  for (const dir of pathValue(env).split(delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

export interface Interpreters {
  available: Interpreter[];
  /** The program that runs python jobs: python3 where it exists (python first on Windows). */
  python: string | undefined;
}

export function detectInterpreters(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  find: (name: string) => string | undefined = (name) => findOnPath(name, env, platform),
): Interpreters {
  const available: Interpreter[] = [];
  if (find('bash')) available.push('bash');
  if (find('sh')) available.push('sh');
  // on Windows python3.exe is often only the Microsoft Store stub, so python comes first there
  const pythonNames = platform === 'win32' ? ['python', 'python3'] : ['python3', 'python'];
  const python = pythonNames.find((name) => find(name) !== undefined);
  if (python) available.push('python');
  if (find('pwsh')) available.push('pwsh');
  // the agent's own runtime
  available.push('node');
  if (platform === 'win32') {
    if (find('powershell')) available.push('powershell');
    // cmd.exe is part of every Windows and lives in System32, which a service's PATH may omit
    available.push('cmd');
  }
  return { available, python };
}

export function collectFacts(options: {
  fingerprint: string;
  name: string | undefined;
  platform: NodeJS.Platform;
  interpreters: Interpreter[];
}): AgentFacts {
  const { os_type, os_version } = detectOs(options.platform);
  const hostname = os.hostname();
  const ip = pickIpv4(os.networkInterfaces());
  return {
    hostname: (options.name ?? hostname).slice(0, 255),
    fingerprint: options.fingerprint,
    os_type,
    os_version: os_version.slice(0, 200),
    arch: os.arch(),
    ...(ip ? { ip } : {}),
    agent_version: agentVersion(),
    ...(isSingleExecutable() ? { self_update: true } : {}),
    interpreters: options.interpreters,
    system_info: {
      hostname,
      platform: options.platform,
      kernel: os.release(),
      os_name: os.version(),
      cpus: os.cpus().length,
      memory_bytes: os.totalmem(),
      node_version: process.versions.node,
    },
  };
}

const clampPercent = (value: number) => Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;

/**
 * Samples load, memory and disk for heartbeats. CPU is the 1-minute load per core on POSIX;
 * Windows has no load average (os.loadavg() is always 0), so there it is the busy share of CPU
 * time since the previous sample.
 */
export class MetricsSampler {
  private previousCpu = cpuTimes();

  constructor(
    private readonly platform: NodeJS.Platform,
    private readonly diskPath = path.parse(process.cwd()).root,
  ) {}

  async sample(): Promise<AgentMetrics> {
    return {
      cpu_percent: clampPercent(this.cpuPercent()),
      memory_percent: clampPercent(((os.totalmem() - os.freemem()) / os.totalmem()) * 100),
      disk_percent: clampPercent(await diskPercent(this.diskPath)),
      uptime_seconds: Math.floor(os.uptime()),
    };
  }

  private cpuPercent(): number {
    if (this.platform !== 'win32') return ((os.loadavg()[0] ?? 0) / Math.max(1, os.cpus().length)) * 100;
    const now = cpuTimes();
    const total = now.total - this.previousCpu.total;
    const idle = now.idle - this.previousCpu.idle;
    this.previousCpu = now;
    return total > 0 ? ((total - idle) / total) * 100 : 0;
  }
}

function cpuTimes(): { total: number; idle: number } {
  let total = 0;
  let idle = 0;
  for (const cpu of os.cpus()) {
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
    idle += cpu.times.idle;
  }
  return { total, idle };
}

/** Used share as df reports it: blocks reserved for root count as neither used nor available. */
async function diskPercent(diskPath: string): Promise<number> {
  try {
    const stats = await statfs(diskPath);
    const used = stats.blocks - stats.bfree;
    const usable = used + stats.bavail;
    return usable > 0 ? (used / usable) * 100 : 0;
  } catch {
    return 0;
  }
}
