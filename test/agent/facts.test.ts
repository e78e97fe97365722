import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectInterpreters,
  linuxOsType,
  MetricsSampler,
  parseOsRelease,
  pickIpv4,
  windowsOsType,
} from '../../src/agent/facts.js';
import { endpoint, websocketUrl } from '../../src/agent/http-api.js';
import { parseAgentArgs } from '../../src/agent/main.js';

describe('agent facts', () => {
  it('agent: /etc/os-release maps to the OS types the server knows', () => {
    const release = (text: string) => parseOsRelease(text);
    const ubuntu = release('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n');
    expect(ubuntu.VERSION_ID).toBe('22.04');
    expect(linuxOsType(ubuntu, false)).toBe('ubuntu');
    expect(linuxOsType(release('ID=debian\nVERSION_ID="12"'), false)).toBe('debian');
    // Proxmox VE says it is Debian; its tools tell it apart
    expect(linuxOsType(release('ID=debian\nVERSION_ID="12"'), true)).toBe('proxmox');
    expect(linuxOsType(release('ID="rhel"\nID_LIKE="fedora"'), false)).toBe('rhel');
    expect(linuxOsType(release('ID="centos"\nID_LIKE="rhel fedora"'), false)).toBe('centos');
    expect(linuxOsType(release('ID="rocky"\nID_LIKE="rhel centos fedora"'), false)).toBe('rhel');
    expect(linuxOsType(release('ID=linuxmint\nID_LIKE="ubuntu debian"'), false)).toBe('ubuntu');
    expect(linuxOsType(release('ID=fedora'), false)).toBe('linux');
    expect(linuxOsType({}, false)).toBe('linux');
  });

  it('agent: Windows Server is told apart from Windows by its product name', () => {
    expect(windowsOsType('Windows Server 2022 Datacenter')).toBe('windows_server');
    expect(windowsOsType('Windows 11 Pro')).toBe('windows');
  });

  it('agent: the reported address is the first non-internal IPv4', () => {
    const address = (family: 'IPv4' | 'IPv6', internal: boolean, value: string) => ({
      address: value,
      family,
      internal,
      netmask: '',
      mac: '',
      cidr: null,
      ...(family === 'IPv6' ? { scopeid: 0 } : {}),
    });
    expect(
      pickIpv4({
        lo: [address('IPv4', true, '127.0.0.1')],
        eth0: [address('IPv6', false, 'fe80::1'), address('IPv4', false, '10.0.0.5')],
      } as NodeJS.Dict<os.NetworkInterfaceInfo[]>),
    ).toBe('10.0.0.5');
    expect(pickIpv4({})).toBeUndefined();
  });

  it('agent: interpreters are those on PATH; python3 is preferred, node (its own) is always there, cmd is always on Windows', () => {
    const on =
      (...names: string[]) =>
      (name: string) =>
        names.includes(name) ? `/usr/bin/${name}` : undefined;
    expect(detectInterpreters({}, 'linux', on('bash', 'sh', 'python3', 'python', 'pwsh'))).toEqual({
      available: ['bash', 'sh', 'python', 'pwsh', 'node'],
      python: 'python3',
    });
    expect(detectInterpreters({}, 'linux', on('sh', 'python'))).toEqual({
      available: ['sh', 'python', 'node'],
      python: 'python',
    });
    expect(detectInterpreters({}, 'win32', on('powershell', 'python', 'python3'))).toEqual({
      available: ['python', 'node', 'powershell', 'cmd'],
      python: 'python',
    });
  });

  it('agent: metrics are percentages', async () => {
    const metrics = await new MetricsSampler(process.platform).sample();
    for (const value of [metrics.cpu_percent, metrics.memory_percent, metrics.disk_percent]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
    }
    expect(metrics.uptime_seconds).toBeGreaterThan(0);
  });
});

describe('agent flags', () => {
  it('agent: flags have defaults, and the state dir comes from the environment', () => {
    const parsed = parseAgentArgs(['--server', 'https://fleet.example.com/', '--token', 't'], {
      FLEETPLANE_AGENT_STATE_DIR: '/var/lib/fleetplane-agent',
    });
    expect(parsed).toMatchObject({
      kind: 'run',
      config: {
        server: 'https://fleet.example.com',
        enrollmentToken: 't',
        stateDir: '/var/lib/fleetplane-agent',
        maxJobs: 4,
        transport: 'ws',
      },
    });
    expect(parseAgentArgs([], {})).toMatchObject({
      kind: 'run',
      config: { stateDir: path.join(os.homedir(), '.fleetplane-agent') },
    });
  });

  it('agent: bad flags are refused with a reason', () => {
    const error = (...argv: string[]) => {
      const parsed = parseAgentArgs(argv, {});
      return parsed.kind === 'error' ? parsed.message : parsed.kind;
    };
    expect(error('--server', 'fleet.example.com')).toContain('http:// or https://');
    expect(error('--token', 'a', '--key', 'b')).toBe('pass --token or --key, not both');
    expect(error('--max-jobs', '0')).toContain('--max-jobs');
    expect(error('--transport', 'smoke')).toContain('--transport must be ws or http');
    expect(error('--bogus')).toContain('bogus');
    expect(error('--help')).toBe('help');
  });

  it('agent: API and WebSocket URLs keep a path prefix and follow http/https', () => {
    expect(endpoint('https://fleet.example.com/fp', '/api/v1/agent/register')).toBe(
      'https://fleet.example.com/fp/api/v1/agent/register',
    );
    expect(websocketUrl('http://10.0.0.1:8080')).toBe('ws://10.0.0.1:8080/api/v1/agent/ws');
    expect(websocketUrl('https://fleet.example.com/fp')).toBe('wss://fleet.example.com/fp/api/v1/agent/ws');
  });
});
