/**
 * Rules for Windows executables (reg, sc, net, netsh, taskkill, vssadmin, certutil, ...), shared by
 * cmd and PowerShell, which run them with the same arguments. Arguments arrive lower-cased.
 */
import { registryDanger, windowsPathDanger } from './paths.js';
import { firstOf, type Rule, type SimpleCommand } from './rule.js';

type Cmd = SimpleCommand;

export const switches = (c: Cmd) => c.args.filter((a) => /^\/[a-z?]/.test(a));
export const winOperands = (c: Cmd) => c.args.filter((a) => !/^\/[a-z?]/.test(a) && !/^-[a-z]/.test(a));
const has = (c: Cmd, ...flags: string[]) =>
  c.args.some((a) => flags.some((f) => a === f || a.startsWith(`${f}:`)));
const sub = (c: Cmd) => winOperands(c)[0] ?? '';

export const SECURITY_SERVICES =
  /^(?:windefend|mpssvc|sense|wscsvc|wdnissvc|securityhealthservice|bfe|mdcoresvc|sysmon64|sysmon)$/;
export const CRITICAL_SERVICES =
  /^(?:winrm|sshd|termservice|rpcss|eventlog|lanmanserver|lanmanworkstation|netlogon|dnscache|dhcp|winmgmt|cryptsvc|schedule|gpsvc|samss|lsm|nsi|fleetplane.*)$/;
export const CRITICAL_PROCESSES =
  /^(?:lsass|csrss|wininit|winlogon|smss|services|svchost|system|dwm)(?:\.exe)?$/;
const DELETERS = new Set(['del', 'erase', 'rd', 'rmdir']);
const SECURITY_VALUES =
  /^(?:disableantispyware|disableantivirus|disablerealtimemonitoring|disablebehaviormonitoring|disableioavprotection|disablescriptscanning|enablelua|tamperprotection|enablefirewall)$/;

function regValue(c: Cmd, flag: string): string {
  const at = c.args.indexOf(flag);
  return at < 0 ? '' : (c.args[at + 1] ?? '');
}

/** The service a `sc` or `net` call acts on when it stops, disables or deletes it. */
function stoppedService(c: Cmd): string | null {
  if (c.name === 'sc' && /^(?:stop|delete|pause)$/.test(sub(c))) return winOperands(c)[1] ?? null;
  if (
    c.name === 'sc' &&
    sub(c) === 'config' &&
    c.args.some((a, i) => a.startsWith('start=') && /disabled/.test(a + (c.args[i + 1] ?? '')))
  ) {
    return winOperands(c)[1] ?? null;
  }
  if (c.name === 'net' && /^(?:stop|pause)$/.test(sub(c))) return winOperands(c).slice(1).join(' ') || null;
  return null;
}

export const WINDOWS_NATIVE_RULES: Rule<Cmd>[] = [
  {
    rule: 'system-path-deletion',
    level: 'dangerous',
    reason: 'deletes a system or profile path',
    match: (c) => DELETERS.has(c.name) && firstOf(winOperands(c), windowsPathDanger),
  },
  {
    rule: 'disk-format',
    level: 'dangerous',
    reason: 'formats or partitions a disk',
    match: (c) => (c.name === 'format' && /^[a-z]:\\?$/.test(sub(c))) || c.name === 'diskpart',
  },
  {
    rule: 'backup-destruction',
    level: 'dangerous',
    reason: 'destroys shadow copies, backups or the recovery configuration',
    match: (c) =>
      (c.name === 'vssadmin' && /^(?:delete|resize)$/.test(sub(c))) ||
      (c.name === 'wmic' && c.args.includes('shadowcopy') && c.args.includes('delete')) ||
      (c.name === 'wbadmin' && sub(c) === 'delete') ||
      (c.name === 'bcdedit' &&
        (has(c, '/delete', '/deletevalue') ||
          (has(c, '/set') && c.args.some((a) => /^(?:recoveryenabled|bootstatuspolicy)$/.test(a))))),
  },
  {
    rule: 'registry-hive-deletion',
    level: 'dangerous',
    reason: 'deletes a registry hive or a root key',
    match: (c) => c.name === 'reg' && sub(c) === 'delete' && registryDanger(winOperands(c)[1] ?? ''),
  },
  {
    rule: 'security-disable',
    level: 'dangerous',
    reason: 'disables the firewall, antivirus or security features',
    match: (c) =>
      (c.name === 'netsh' && c.args.includes('state') && c.args.includes('off')) ||
      (c.name === 'netsh' && c.args.includes('opmode') && c.args.some((a) => /disable/.test(a))) ||
      (SECURITY_SERVICES.test(stoppedService(c) ?? '') ? (stoppedService(c) ?? true) : null) ||
      (c.name === 'reg' &&
        sub(c) === 'add' &&
        SECURITY_VALUES.test(regValue(c, '/v')) &&
        /^(?:1|0|0x0|0x1)$/.test(regValue(c, '/d'))) ||
      (c.name === 'mpcmdrun' && has(c, '-removedefinitions')) ||
      (c.name === 'bcdedit' &&
        c.args.some((a) => /^(?:nointegritychecks|testsigning)$/.test(a)) &&
        c.args.includes('on')),
  },
  {
    rule: 'critical-service-stop',
    level: 'dangerous',
    reason: 'stops or disables a service the machine needs to stay reachable',
    match: (c) =>
      CRITICAL_SERVICES.test((stoppedService(c) ?? '').replace(/^"|"$/g, '')) && (stoppedService(c) ?? ''),
  },
  {
    rule: 'account-change',
    level: 'dangerous',
    reason: 'creates, changes or deletes accounts, passwords or group memberships',
    match: (c) =>
      (c.name === 'net' &&
        /^(?:user|localgroup|group)$/.test(sub(c)) &&
        (winOperands(c).length >= 3 ||
          has(c, '/add', '/delete', '/del', '/active', '/passwordreq', '/expires', '/passwordchg'))) ||
      (c.name === 'net' && sub(c) === 'accounts' && switches(c).some((s) => !/^\/domain$/.test(s))) ||
      (c.name === 'wmic' &&
        c.args.includes('useraccount') &&
        c.args.some((a) => /^(?:set|delete|rename|create)$/.test(a))) ||
      /^(?:dsadd|dsmod|dsrm)$/.test(c.name),
  },
  {
    rule: 'credential-dumping',
    level: 'dangerous',
    reason: 'dumps password hashes, LSASS memory or stored credentials',
    match: (c) =>
      /^(?:mimikatz|procdump64|pypykatz|lazagne|ntdsutil|vaultcmd)$/.test(c.name) ||
      (c.name === 'procdump' && c.args.some((a) => /lsass/.test(a))) ||
      (c.name === 'rundll32' && c.args.join(' ').includes('comsvcs') && /minidump/.test(c.args.join(' '))) ||
      (c.name === 'reg' &&
        /^(?:save|export)$/.test(sub(c)) &&
        /^(?:hklm|hkey_local_machine)\\(?:sam|system|security)$/.test(winOperands(c)[1] ?? '')) ||
      (c.name === 'netsh' && c.args.includes('wlan') && c.args.includes('key=clear')) ||
      (c.name === 'esentutl' && c.args.some((a) => /ntds/.test(a))) ||
      firstOf(c.args, (a) =>
        /mimikatz|sekurlsa::|lsadump::|\\config\\(?:sam|security)$|ntds\.dit|harddiskvolumeshadowcopy/.test(a)
          ? a
          : null,
      ),
  },
  {
    rule: 'download-execute',
    level: 'dangerous',
    reason: 'a system binary fetches and runs or installs remote content',
    match: (c) =>
      (c.name === 'certutil' && c.args.some((a) => /^[-/](?:urlcache|verifyctl)$/.test(a))) ||
      (c.name === 'mshta' && c.args.some((a) => /^(?:https?:|javascript:|vbscript:|\\\\)/.test(a))) ||
      (c.name === 'regsvr32' && c.args.some((a) => /^\/i:(?:https?:|\\\\)/.test(a))) ||
      (c.name === 'rundll32' && c.args.some((a) => /javascript:|https?:/.test(a))) ||
      (c.name === 'msiexec' && c.args.some((a) => /^(?:https?:|\\\\)/.test(a))),
  },
  {
    rule: 'shutdown-reboot',
    level: 'dangerous',
    reason: 'shuts down or restarts the machine',
    match: (c) =>
      (c.name === 'shutdown' && c.args.some((a) => /^[-/](?:s|r|p|h|g|sg|hybrid|o)$/.test(a))) ||
      c.name === 'tsshutdn' ||
      (c.name === 'wmic' && c.args.includes('os') && c.args.some((a) => /shutdown|reboot/.test(a))),
  },
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'kills every process, or processes Windows depends on',
    match: (c) =>
      (c.name === 'taskkill' &&
        ((has(c, '/fi') && !has(c, '/im', '/pid')) ||
          firstOf(
            c.args.filter((_a, i) => /^\/(?:im|pid)$/.test(c.args[i - 1] ?? '')),
            (v) => (/^(?:\*|\*\.\*|\*\.exe|.\*|0|4)$/.test(v) || CRITICAL_PROCESSES.test(v) ? v : null),
          ))) ||
      (c.name === 'wmic' &&
        c.args.includes('process') &&
        !c.args.includes('where') &&
        c.args.some((a) => /^(?:delete|terminate)$/.test(a))),
  },
  {
    rule: 'log-tampering',
    level: 'dangerous',
    reason: 'clears event logs or disables auditing',
    match: (c) =>
      (c.name === 'wevtutil' && /^(?:cl|clear-log)$/.test(sub(c))) ||
      (c.name === 'wevtutil' &&
        /^(?:sl|set-log)$/.test(sub(c)) &&
        c.args.some((a) => /^\/e(?:nabled)?:false$/.test(a))) ||
      (c.name === 'auditpol' && (has(c, '/clear', '/remove') || c.args.some((a) => /:disable$/.test(a)))) ||
      (c.name === 'fsutil' && c.args.includes('usn') && c.args.includes('deletejournal')),
  },
  {
    rule: 'history-clearing',
    level: 'dangerous',
    reason: 'clears the command history',
    match: (c) => c.name === 'doskey' && c.args.some((a) => /^\/(?:reinstall|listsize=0)$/.test(a)),
  },
  {
    rule: 'system-permission-change',
    level: 'dangerous',
    reason: 'takes ownership of or changes permissions on a system path',
    match: (c) =>
      (c.name === 'takeown' &&
        firstOf(
          c.args.filter((_a, i) => c.args[i - 1] === '/f'),
          windowsPathDanger,
        )) ||
      (/^i?cacls$/.test(c.name) &&
        c.args.some((a) => /^\/(?:grant|setowner|reset|deny|remove|t)/.test(a)) &&
        firstOf(winOperands(c).slice(0, 1), windowsPathDanger)),
  },
  {
    rule: 'scheduled-task-removal',
    level: 'dangerous',
    reason: 'deletes every scheduled task',
    match: (c) => c.name === 'schtasks' && has(c, '/delete') && c.args.includes('*'),
  },
  ...cautionRules(),
];

function cautionRules(): Rule<Cmd>[] {
  return [
    {
      rule: 'recursive-delete',
      level: 'caution',
      reason: 'deletes a directory tree',
      match: (c) => DELETERS.has(c.name) && has(c, '/s'),
    },
    {
      rule: 'file-delete',
      level: 'caution',
      reason: 'deletes files',
      match: (c) => DELETERS.has(c.name) && !has(c, '/s'),
    },
    {
      rule: 'registry-change',
      level: 'caution',
      reason: 'changes the registry',
      match: (c) => c.name === 'reg' && /^(?:add|delete|import|restore|load|unload|copy)$/.test(sub(c)),
    },
    {
      rule: 'service-change',
      level: 'caution',
      reason: 'starts, stops or reconfigures a service',
      match: (c) =>
        (c.name === 'sc' && /^(?:start|stop|config|delete|create|pause|continue|failure)$/.test(sub(c))) ||
        (c.name === 'net' && /^(?:start|stop|pause|continue)$/.test(sub(c)) && winOperands(c).length > 1),
    },
    {
      rule: 'package-change',
      level: 'caution',
      reason: 'installs or removes software',
      match: (c) =>
        (/^(?:winget|choco|scoop)$/.test(c.name) && !/^(?:list|search|show|info)$/.test(sub(c))) ||
        c.name === 'msiexec',
    },
    {
      rule: 'process-kill',
      level: 'caution',
      reason: 'stops processes',
      match: (c) => c.name === 'taskkill' || c.name === 'tskill',
    },
    {
      rule: 'file-write',
      level: 'caution',
      reason: 'writes to a file',
      match: (c) =>
        firstOf(
          c.redirects.filter((r) => r.op.includes('>')).map((r) => r.target),
          (t) => (/^(?:nul|\$null)$/i.test(t) ? null : t),
        ),
    },
    {
      rule: 'shutdown-abort',
      fallback: true,
      level: 'caution',
      reason: 'aborts a pending shutdown or logs off',
      match: (c) => c.name === 'shutdown',
    },
    {
      rule: 'network-download',
      fallback: true,
      level: 'caution',
      reason: 'downloads a file',
      match: (c) => c.name === 'bitsadmin' || (c.name === 'certutil' && !has(c, '-hashfile')),
    },
  ];
}

const READ_ONLY = new Set(
  (
    'dir type echo ver vol hostname whoami systeminfo tasklist netstat ping tracert pathping nslookup where tree find findstr ' +
    'more sort driverquery getmac gpresult quser qwinsta query fc comp arp cls cd chdir pushd popd title rem timeout klist ' +
    'nbtstat openfiles chcp path set route ipconfig wmic sc net reg schtasks wevtutil powercfg fsutil icacls cacls chkdsk dism sfc ' +
    'bcdedit vssadmin manage-bde netsh certutil date time'
  ).split(' '),
);

/** Read-only executables, some only with read-only arguments. */
export function isWindowsReadOnly(c: Cmd): boolean {
  if (!READ_ONLY.has(c.name)) return false;
  if (c.redirects.some((r) => r.op.includes('>') && !/^(?:nul|&\d|\$null)$/i.test(r.target))) return false;
  const s = sub(c);
  switch (c.name) {
    case 'ipconfig':
      return !has(
        c,
        '/release',
        '/renew',
        '/flushdns',
        '/registerdns',
        '/setclassid',
        '/release6',
        '/renew6',
      );
    case 'wmic':
      return (
        c.args.some((a) => a === 'get' || a === 'list') &&
        !c.args.some((a) => /^(?:call|delete|set|create)$/.test(a))
      );
    case 'sc':
      return /^(?:query|queryex|qc|qdescription|enumdepend|qfailure|getdisplayname|getkeyname)$/.test(s);
    case 'net':
      return (
        /^(?:user|localgroup|group|view|config|statistics|accounts|share|use|start|session)$/.test(s) &&
        winOperands(c).length <= 2 &&
        switches(c).every((x) => x === '/domain')
      );
    case 'reg':
      return s === 'query';
    case 'schtasks':
      return has(c, '/query');
    case 'wevtutil':
      return /^(?:qe|el|gl|gli|enum-logs|get-log|query-events)$/.test(s);
    case 'powercfg':
      return c.args.every((a) => /^\/(?:l|list|q|query|a|availablesleepstates|getactivescheme)$/.test(a));
    case 'fsutil':
      return s === 'fsinfo';
    case 'icacls':
    case 'cacls':
      return c.args.length === 1;
    case 'chkdsk':
      return switches(c).length === 0 || (has(c, '/scan') && !has(c, '/f', '/r', '/x', '/b'));
    case 'dism':
      return c.args.some((a) => a.startsWith('/get-'));
    case 'sfc':
      return has(c, '/verifyonly');
    case 'bcdedit':
      return c.args.length === 0 || has(c, '/enum');
    case 'vssadmin':
      return s === 'list';
    case 'manage-bde':
      return has(c, '-status');
    case 'netsh':
      return c.args.includes('show') && !c.args.includes('key=clear');
    case 'certutil':
      return has(c, '-hashfile');
    case 'set':
    case 'path':
      return !c.args.join(' ').includes('=') && (c.name !== 'path' || c.args.length === 0);
    case 'date':
    case 'time':
      return has(c, '/t');
    default:
      return true;
  }
}
