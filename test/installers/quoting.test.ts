import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/server/lib/errors.js';
import type { InstallerValues } from '../../src/server/modules/installers/platforms.js';
import { darwinScript, linuxScript } from '../../src/server/modules/installers/posix-script.js';
import { oneLiner } from '../../src/server/modules/installers/quoting.js';
import { windowsScript } from '../../src/server/modules/installers/windows-script.js';
import type { PublishedBuild } from '../support/agent-builds.js';
import { agentRuns, run, writeFakeBuilds, writeFakeTools } from './support.js';

/*
 * Values that would run code if any reached a shell unquoted: each marker file must never exist.
 * Everything a user or an operator controls goes in: the token and the server URL.
 */
let markers: string[];
let hostileToken: string;
let hostileServer: string;

describe('installers: hostile values arrive inert', () => {
  let work: string;
  let buildsDir: string;
  let builds: PublishedBuild[];

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-quoting-'));
    markers = ['one', 'two', 'three', 'four'].map((name) => path.join(work, `marker-${name}`));
    hostileToken = `fpe_it's "quoted" $(touch ${markers[0]}) \`touch ${markers[1]}\`; touch ${markers[2]} $HOME \\ ’ ''`;
    hostileServer = `https://fleet.example.test/a'b$(touch ${markers[3]})\`id\`;x`;
    buildsDir = path.join(work, 'builds');
    builds = writeFakeBuilds(buildsDir, '1.0.0');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function values(os: InstallerValues['os'], arch: InstallerValues['arch'] = 'x64'): InstallerValues {
    const exe = `fleetplane-agent-${os}-${os === 'darwin' ? 'x64' : arch}${os === 'windows' ? '.exe' : ''}`;
    return {
      os,
      arch,
      servedArch: os === 'darwin' ? 'x64' : arch,
      server: hostileServer,
      token: hostileToken,
      version: '1.0.0',
      sha256: builds.find((b) => b.os === os && b.arch === (os === 'darwin' ? 'x64' : arch))!.sha256,
      downloadUrl: 'http://127.0.0.1:9/never',
      executableName: exe,
      offline: true,
    };
  }

  /** An offline install (the executable beside the script) into a temporary root. */
  async function install(name: string, script: string, executable: string, tools: string[]) {
    const dir = path.join(work, name);
    const root = path.join(dir, 'root');
    const logDir = path.join(dir, 'runs');
    const bin = path.join(dir, 'bin');
    mkdirSync(root, { recursive: true });
    mkdirSync(logDir);
    writeFakeTools(bin, tools);
    writeFileSync(path.join(dir, 'install.sh'), script);
    const file = builds.find((b) => b.file.startsWith(executable))!.file;
    copyFileSync(path.join(buildsDir, file), path.join(dir, executable));
    const calls = path.join(dir, 'calls');
    const done = await run('sh', [path.join(dir, 'install.sh')], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        FLEETPLANE_INSTALL_ROOT: root,
        FAKE_AGENT_LOG_DIR: logDir,
        FAKE_CALLS: calls,
        HOME: dir,
      },
      cwd: dir,
    });
    return {
      done,
      root,
      runs: agentRuns(logDir),
      calls: readFileSync(calls, 'utf8').split('\n').slice(0, -1),
    };
  }

  it('installers: sh (Linux): the token and server URL reach the agent byte for byte and nothing runs', async () => {
    const { done, root, runs } = await install(
      'linux',
      linuxScript(values('linux')),
      'fleetplane-agent-linux-x64',
      ['systemctl'],
    );
    expect(done.code, done.stderr).toBe(0);
    expect(runs).toEqual([
      [
        '--server',
        hostileServer,
        '--token',
        hostileToken,
        '--state-dir',
        path.join(root, 'var/lib/fleetplane-agent'),
      ],
    ]);
    for (const marker of markers) expect(existsSync(marker), marker).toBe(false);
  });

  it('installers: sh (macOS): the same, a launchd daemon that keeps it alive, signed ad hoc', async () => {
    const script = darwinScript(values('darwin', 'arm64'));
    expect(script).toContain('Rosetta 2');
    const { done, root, runs, calls } = await install('darwin', script, 'fleetplane-agent-darwin-x64', [
      'launchctl',
      'codesign',
    ]);
    expect(done.code, done.stderr).toBe(0);
    const state = path.join(root, 'Library/Application Support/Fleetplane Agent');
    expect(runs).toEqual([['--server', hostileServer, '--token', hostileToken, '--state-dir', state]]);
    const binary = path.join(root, 'usr/local/fleetplane-agent/fleetplane-agent');
    const plist = path.join(root, 'Library/LaunchDaemons/com.fleetplane.agent.plist');
    expect(calls).toEqual([
      `codesign --force --sign - ${binary}.download`,
      `launchctl bootstrap system ${plist}`,
      'launchctl enable system/com.fleetplane.agent',
    ]);
    const daemon = readFileSync(plist, 'utf8');
    for (const fragment of [
      `<string>${binary}</string>`,
      `<string>${state}</string>`,
      '<key>KeepAlive</key>\n  <true/>',
      '<key>RunAtLoad</key>\n  <true/>',
      '<key>FLEETPLANE_AGENT_SUPERVISED</key>\n    <string>1</string>',
    ])
      expect(daemon).toContain(fragment);
    expect(daemon).not.toContain('fpe_');
    for (const marker of markers) expect(existsSync(marker), marker).toBe(false);
  });

  it('installers: PowerShell: each value is one single-quoted literal that reads back as itself', () => {
    const script = windowsScript(values('windows'));
    /** The verbatim string assigned to a variable, read back as PowerShell reads it. */
    const literal = (name: string) => {
      const found = [
        ...script.matchAll(new RegExp(`^\\s*\\$${name} = '((?:[^'‘’‚‛]|(['‘’‚‛])\\2)*)'$`, 'gm')),
      ];
      expect(found, name).toHaveLength(1);
      return found[0]![1]!.replace(/(['‘’‚‛])\1/g, '$1');
    };
    expect(literal('EnrollmentToken')).toBe(hostileToken);
    expect(literal('ServerUrl')).toBe(hostileServer);
    // The token is nowhere else: no other line could expand it.
    expect(script.split('"quoted"').length).toBe(2);
    for (const fragment of [
      'Get-FileHash -Algorithm SHA256',
      'New-ScheduledTaskTrigger -AtStartup',
      "-UserId 'SYSTEM'",
      'FLEETPLANE_AGENT_SUPERVISED',
      'param([switch]$Uninstall)',
      "Join-Path $env:ProgramFiles 'Fleetplane Agent'",
      "Join-Path $env:ProgramData 'Fleetplane Agent'",
      '$env:FLEETPLANE_INSTALL_ROOT',
      'Unregister-ScheduledTask',
    ])
      expect(script).toContain(fragment);
  });

  it('installers: the one-line commands quote the token and URL for sh and PowerShell', async () => {
    const bin = path.join(work, 'oneliner-bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'curl'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "$FAKE_CALLS"\n`,
      { mode: 0o755 },
    );
    writeFileSync(path.join(bin, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    const calls = path.join(work, 'oneliner-calls');
    const url = `${hostileServer}/api/v1/installers/linux/x64/script`;
    const done = await run('sh', ['-c', oneLiner('linux', hostileToken, url)], {
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE_CALLS: calls },
    });
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8').split('\0').slice(0, -1)).toEqual([
      '-fsSL',
      '-H',
      `Authorization: Bearer ${hostileToken}`,
      url,
    ]);
    for (const marker of markers) expect(existsSync(marker), marker).toBe(false);
    const ps = oneLiner('windows', "a'b", 'https://x.test/s');
    expect(ps).toBe("iwr -UseBasicParsing -Headers @{Authorization='Bearer a''b'} 'https://x.test/s' | iex");
  });

  it('installers: a control character in any embedded value is refused', () => {
    for (const bad of ['fpe_a\nrm -rf /', 'fpe_\u001b[2J', 'fpe_\u2028'])
      for (const render of [linuxScript, darwinScript, windowsScript])
        expect(() => render({ ...values('linux'), token: bad })).toThrow(AppError);
  });
});
