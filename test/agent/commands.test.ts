import { describe, expect, it } from 'vitest';
import { commandLine, killPlan, scriptContent, scriptName } from '../../src/agent/commands.js';
import type { Interpreter } from '../../src/protocol/jobs.js';

const posixScript = '/tmp/fleetplane-job-x/job';
const windowsScript = 'C:\\Windows\\Temp\\fleetplane-job-x\\job';
const line = (interpreter: Interpreter, platform: NodeJS.Platform, python?: string) => {
  const script = (platform === 'win32' ? windowsScript : posixScript) + scriptName(interpreter).slice(3);
  return commandLine(interpreter, script, platform, python);
};

describe('agent command lines', () => {
  for (const platform of ['linux', 'darwin'] as const) {
    it(`agent: ${platform} runs each interpreter on a script file`, () => {
      const plain = (file: string, args: string[]) => ({ file, args, windowsVerbatimArguments: false });
      expect(line('bash', platform)).toEqual(plain('bash', ['/tmp/fleetplane-job-x/job.sh']));
      expect(line('sh', platform)).toEqual(plain('sh', ['/tmp/fleetplane-job-x/job.sh']));
      expect(line('python', platform)).toEqual(plain('python3', ['/tmp/fleetplane-job-x/job.py']));
      expect(line('python', platform, 'python')).toEqual(plain('python', ['/tmp/fleetplane-job-x/job.py']));
      const pwsh = plain('pwsh', ['-NoProfile', '-NonInteractive', '-File', '/tmp/fleetplane-job-x/job.ps1']);
      expect(line('pwsh', platform)).toEqual(pwsh);
      expect(line('powershell', platform)).toEqual(pwsh);
      expect(line('cmd', platform)).toEqual({ error: `cmd needs Windows; this agent runs on ${platform}` });
      // node is the agent's own runtime, whatever PATH holds
      expect(line('node', platform)).toEqual(plain(process.execPath, ['/tmp/fleetplane-job-x/job.mjs']));
    });
  }

  it('agent: win32 runs PowerShell, cmd and python with their exact flags', () => {
    const plain = (file: string, args: string[]) => ({ file, args, windowsVerbatimArguments: false });
    expect(line('powershell', 'win32')).toEqual(
      plain('powershell.exe', [
        '-NoProfile',
        '-NonInteractive',
        '-ExecutionPolicy',
        'Bypass',
        '-File',
        'C:\\Windows\\Temp\\fleetplane-job-x\\job.ps1',
      ]),
    );
    expect(line('pwsh', 'win32')).toEqual(
      plain('pwsh', [
        '-NoProfile',
        '-NonInteractive',
        '-File',
        'C:\\Windows\\Temp\\fleetplane-job-x\\job.ps1',
      ]),
    );
    expect(line('cmd', 'win32')).toEqual({
      file: 'cmd.exe',
      args: ['/d', '/s', '/c', '""C:\\Windows\\Temp\\fleetplane-job-x\\job.cmd""'],
      windowsVerbatimArguments: true,
    });
    expect(line('python', 'win32')).toEqual(plain('python', ['C:\\Windows\\Temp\\fleetplane-job-x\\job.py']));
    expect(line('bash', 'win32')).toEqual(plain('bash', ['C:\\Windows\\Temp\\fleetplane-job-x\\job.sh']));
    expect(line('sh', 'win32')).toEqual(plain('sh', ['C:\\Windows\\Temp\\fleetplane-job-x\\job.sh']));
  });

  it('agent: cmd.exe keeps a script path with spaces in one quoted argument', () => {
    const result = commandLine('cmd', 'C:\\Users\\Jane Doe\\AppData\\Local\\Temp\\j\\job.cmd', 'win32');
    // /s strips the outer pair, leaving "C:\Users\Jane Doe\...\job.cmd" for cmd to run
    expect(result).toMatchObject({
      args: ['/d', '/s', '/c', '""C:\\Users\\Jane Doe\\AppData\\Local\\Temp\\j\\job.cmd""'],
    });
  });

  it('agent: script files get the extension and encoding their interpreter needs', () => {
    expect(scriptName('powershell')).toBe('job.ps1');
    expect(scriptName('cmd')).toBe('job.cmd');
    expect(scriptName('python')).toBe('job.py');
    expect(scriptName('node')).toBe('job.mjs');
    expect(scriptContent('bash', 'echo é\n').toString('utf8')).toBe('echo é\n');
    expect([...scriptContent('pwsh', 'Write-Output é').subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(scriptContent('cmd', 'echo a\necho b').toString('utf8')).toBe('@echo off\r\necho a\r\necho b');
  });
});

describe('agent kill plans', () => {
  it('agent: linux kills the process group with SIGTERM, then SIGKILL after 2 s', () => {
    expect(killPlan(4242, 'linux')).toEqual([
      { kind: 'signal', pid: -4242, signal: 'SIGTERM', afterMs: 0 },
      { kind: 'signal', pid: -4242, signal: 'SIGKILL', afterMs: 2000 },
    ]);
    expect(killPlan(4242, 'darwin')).toEqual(killPlan(4242, 'linux'));
  });

  it('agent: win32 kills the process tree with taskkill', () => {
    expect(killPlan(4242, 'win32')).toEqual([
      { kind: 'exec', file: 'taskkill', args: ['/pid', '4242', '/T', '/F'], afterMs: 0 },
    ]);
  });
});
