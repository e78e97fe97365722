/** The named rules for PowerShell cmdlets, pipelines and whole scripts. */
import { isRegistryPath, posixPathDanger, registryDanger, windowsPathDanger } from './paths.js';
import type { PsToken } from './powershell.tokenize.js';
import { firstOf, type Rule, type SimpleCommand } from './rule.js';
import { CRITICAL_PROCESSES, CRITICAL_SERVICES, SECURITY_SERVICES } from './rules.windows.js';

export interface PsCommand extends SimpleCommand {
  tokens: PsToken[];
}

/** `-Rec`, `-recurse`, `–Recurse:$true`: parameters match by unambiguous prefix, in any case. */
function paramName(token: PsToken | undefined): string | null {
  if (!token || token.kind !== 'word') return null;
  return /^[-\u2013\u2014\u2015]([a-z][\w]*)(?::.*)?$/i.exec(token.value)?.[1]?.toLowerCase() ?? null;
}
const matches = (given: string, full: string, min: number) => given.length >= min && full.startsWith(given);

export function hasParam(c: PsCommand, full: string, min = 1): boolean {
  return c.tokens.some((t) => {
    const name = paramName(t);
    return name !== null && matches(name, full, min) && !/:\s*\$false$/i.test(t.value);
  });
}

export function paramValue(c: PsCommand, full: string, min = 1): string | null {
  for (let i = 0; i < c.tokens.length; i += 1) {
    const name = paramName(c.tokens[i]);
    if (name === null || !matches(name, full, min)) continue;
    const glued = /^[^:]+:(.+)$/.exec(c.tokens[i]?.value ?? '')?.[1];
    return glued ?? c.tokens[i + 1]?.value ?? '';
  }
  return null;
}

/** Arguments that are neither parameter names nor the values of the listed valued parameters. */
export function positionals(c: PsCommand, valued: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < c.tokens.length; i += 1) {
    const token = c.tokens[i] as PsToken;
    const name = paramName(token);
    if (name === null) out.push(token.value);
    else if (!token.value.includes(':') && valued.some((v) => matches(name, v, 1))) i += 1;
  }
  return out;
}

const PATH_PARAMS = [
  'path',
  'literalpath',
  'lp',
  'pspath',
  'filter',
  'include',
  'exclude',
  'credential',
  'stream',
];
const paths = (c: PsCommand) => [
  ...(paramValue(c, 'path') !== null ? [paramValue(c, 'path') ?? ''] : []),
  ...(paramValue(c, 'literalpath', 2) !== null ? [paramValue(c, 'literalpath', 2) ?? ''] : []),
  ...positionals(c, PATH_PARAMS).flatMap((p) => p.split(',')),
];
const names = (c: PsCommand, param = 'name') =>
  [
    ...(paramValue(c, param) ?? '').split(','),
    ...positionals(c, [param, 'id', 'computername', 'startuptype', 'status', 'displayname']).flatMap((p) =>
      p.split(','),
    ),
  ]
    .map((n) =>
      n
        .trim()
        .replace(/^['"]|['"]$/g, '')
        .toLowerCase(),
    )
    .filter(Boolean);
const is =
  (...list: string[]) =>
  (c: PsCommand) =>
    list.includes(c.name);
const recursive = (c: PsCommand) => hasParam(c, 'recurse');

function deletedPath(c: PsCommand): string | null {
  return firstOf(paths(c), (p) =>
    isRegistryPath(p)
      ? null
      : /^[/~]/.test(p) && !/^~[\\]/.test(p)
        ? (posixPathDanger(p, recursive(c)) ?? windowsPathDanger(p))
        : windowsPathDanger(p),
  );
}

const CRITICAL_DISPLAY_NAMES =
  /remote management|remote desktop|openssh|defender|firewall|remote procedure call|windows event log/i;

const truthy = (v: string | null) => v !== null && !/^(?:\$false|0|false)$/i.test(v);

export const PS_RULES: Rule<PsCommand>[] = [
  {
    rule: 'system-path-deletion',
    level: 'dangerous',
    reason: 'deletes a system or profile path',
    match: (c) => c.name === 'remove-item' && deletedPath(c),
  },
  {
    rule: 'registry-hive-deletion',
    level: 'dangerous',
    reason: 'deletes a registry hive or a root key',
    match: (c) => ['remove-item', 'clear-item'].includes(c.name) && firstOf(paths(c), registryDanger),
  },
  {
    rule: 'disk-format',
    level: 'dangerous',
    reason: 'formats, clears or repartitions a disk',
    match: is(
      'format-volume',
      'clear-disk',
      'initialize-disk',
      'remove-partition',
      'reset-physicaldisk',
      'remove-physicaldisk',
      'remove-virtualdisk',
    ),
  },
  {
    rule: 'security-disable',
    level: 'dangerous',
    reason: 'disables the firewall, antivirus or security features',
    match: (c) =>
      (c.name === 'set-mppreference' &&
        c.tokens.some(
          (t, i) =>
            /^[-\u2013]disable/i.test(t.value) &&
            (/:\s*\$?true|:1$/i.test(t.value) || truthy(c.tokens[i + 1]?.value ?? '$true')),
        )) ||
      (c.name === 'add-mppreference' && c.tokens.some((t) => /^-exclusion/i.test(t.value))) ||
      (c.name === 'set-netfirewallprofile' && /^(?:\$?false|0)$/i.test(paramValue(c, 'enabled') ?? '')) ||
      (/^(?:stop-service|suspend-service|remove-service)$/.test(c.name) &&
        names(c).some((n) => SECURITY_SERVICES.test(n))) ||
      (c.name === 'set-service' &&
        /disabled|stopped/i.test(c.args.join(' ')) &&
        names(c).some((n) => SECURITY_SERVICES.test(n))) ||
      (/^(?:uninstall|remove)-windowsfeature$/.test(c.name) && /defender/i.test(c.args.join(' '))),
  },
  {
    rule: 'critical-service-stop',
    level: 'dangerous',
    reason: 'stops or disables a service the machine needs to stay reachable',
    match: (c) =>
      (/^(?:stop-service|suspend-service|remove-service)$/.test(c.name) ||
        (c.name === 'set-service' && /disabled|stopped/i.test(c.args.join(' ')))) &&
      (firstOf(names(c), (n) => (CRITICAL_SERVICES.test(n) || n === '*' ? n : null)) ||
        (CRITICAL_DISPLAY_NAMES.test(paramValue(c, 'displayname', 2) ?? '') &&
          (paramValue(c, 'displayname', 2) ?? ''))),
  },
  {
    rule: 'system-path-move',
    level: 'dangerous',
    reason: 'moves or renames a system or profile path',
    match: (c) =>
      ['move-item', 'rename-item'].includes(c.name) && firstOf(paths(c).slice(0, 1), windowsPathDanger),
  },
  {
    rule: 'system-file-overwrite',
    level: 'dangerous',
    reason: 'overwrites a file in a system path',
    match: (c) =>
      firstOf(
        [
          ...(['set-content', 'out-file', 'clear-content'].includes(c.name) ? paths(c).slice(0, 1) : []),
          ...c.redirects.map((r) => r.target),
        ],
        windowsPathDanger,
      ),
  },
  {
    rule: 'account-change',
    level: 'dangerous',
    reason: 'creates, changes or deletes accounts, passwords or group memberships',
    match: (c) =>
      /^(?:new|set|remove|enable|rename)-localuser$|^(?:add|remove)-localgroupmember$|^(?:new|set|remove|enable)-aduser$|^set-adaccountpassword$|^(?:add|remove)-adgroupmember$|^(?:new|remove)-localgroup$/.test(
        c.name,
      ),
  },
  {
    rule: 'credential-dumping',
    level: 'dangerous',
    reason: 'dumps LSASS memory, password hashes or stored credentials',
    match: (c) =>
      /^(?:invoke-mimikatz|out-minidump|invoke-ninjacopy|get-gpppassword|invoke-dcsync)$/.test(c.name) ||
      firstOf(c.args, (a) =>
        /\\config\\(?:sam|security|system)$|ntds\.dit|harddiskvolumeshadowcopy/i.test(a) ? a : null,
      ),
  },
  {
    rule: 'shutdown-reboot',
    level: 'dangerous',
    reason: 'shuts down or restarts the machine',
    match: is('stop-computer', 'restart-computer'),
  },
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'kills every process, or processes Windows depends on',
    match: (c) =>
      c.name === 'stop-process' &&
      (firstOf(names(c), (n) => (/^[*?]+$|^.\*$/.test(n) || CRITICAL_PROCESSES.test(n) ? n : null)) ||
        /^(?:0|4)$/.test(paramValue(c, 'id') ?? '')),
  },
  {
    rule: 'log-tampering',
    level: 'dangerous',
    reason: 'clears or removes event logs',
    match: is('clear-eventlog', 'remove-eventlog'),
  },
  {
    rule: 'history-clearing',
    level: 'dangerous',
    reason: 'clears or stops the command history',
    match: (c) =>
      c.name === 'clear-history' ||
      (c.name === 'set-psreadlineoption' && /savenothing/i.test(paramValue(c, 'historysavestyle') ?? '')) ||
      (['remove-item', 'clear-content', 'set-content'].includes(c.name) &&
        c.args.some((a) => /consolehost_history|historysavepath/i.test(a))),
  },
  {
    rule: 'core-package-removal',
    level: 'dangerous',
    reason: 'removes a core Windows feature',
    match: (c) =>
      /^(?:uninstall-windowsfeature|remove-windowsfeature|disable-windowsoptionalfeature)$/.test(c.name) &&
      firstOf(c.args, (a) =>
        /powershell|netfx|server-gui|microsoft-windows-subsystem|rsat|wmi|winrm/i.test(a) ? a : null,
      ),
  },
  {
    rule: 'dynamic-code',
    level: 'caution',
    reason: 'runs a string as code',
    match: is('invoke-expression'),
  },
  ...cautionRules(),
];

const WRITERS =
  /^(?:set-content|add-content|out-file|new-item|copy-item|move-item|rename-item|clear-content|set-item|export-\w+|expand-archive|compress-archive|tee-object)$/;

function cautionRules(): Rule<PsCommand>[] {
  return [
    {
      rule: 'registry-change',
      level: 'caution',
      reason: 'changes the registry',
      match: (c) =>
        /-item(?:property)?$/.test(c.name) && !c.name.startsWith('get-') && paths(c).some(isRegistryPath),
    },
    {
      rule: 'recursive-delete',
      level: 'caution',
      reason: 'deletes a directory tree',
      match: (c) => c.name === 'remove-item' && recursive(c),
    },
    {
      rule: 'file-delete',
      level: 'caution',
      reason: 'deletes files',
      match: (c) => c.name === 'remove-item' && !recursive(c),
    },
    {
      rule: 'file-write',
      level: 'caution',
      reason: 'writes files',
      match: (c) => WRITERS.test(c.name) && (c.name !== 'tee-object' || hasParam(c, 'filepath')),
    },
    {
      rule: 'service-change',
      level: 'caution',
      reason: 'starts, stops or reconfigures a service',
      match: (c) => /^(?:start|stop|restart|suspend|resume|set|new|remove)-service$/.test(c.name),
    },
    { rule: 'process-kill', level: 'caution', reason: 'stops processes', match: is('stop-process') },
    {
      rule: 'package-change',
      level: 'caution',
      reason: 'installs or removes software',
      match: (c) =>
        /^(?:install|uninstall|update)-(?:package|module|script|windowsfeature)$|^(?:add|remove)-windowsfeature$|^(?:enable|disable)-windowsoptionalfeature$|^(?:add|remove)-appxpackage$/.test(
          c.name,
        ),
    },
    {
      rule: 'network-download',
      fallback: true,
      level: 'caution',
      reason: 'downloads from the network',
      match: is('invoke-webrequest', 'invoke-restmethod', 'start-bitstransfer'),
    },
    {
      rule: 'remote-execution',
      level: 'caution',
      reason: 'runs commands on other machines',
      match: is('invoke-command', 'enter-pssession', 'new-pssession'),
    },
    {
      rule: 'execution-policy-change',
      level: 'caution',
      reason: 'changes the script execution policy',
      match: is('set-executionpolicy'),
    },
    {
      rule: 'scheduled-task-change',
      level: 'caution',
      reason: 'creates or changes scheduled tasks',
      match: (c) => /-scheduledtask$|-scheduledjob$/.test(c.name) && !c.name.startsWith('get-'),
    },
    {
      rule: 'state-change',
      fallback: true,
      level: 'caution',
      reason: 'changes system state',
      match: (c) =>
        /^(?:set|new|remove|add|clear|disable|enable|reset|restart|stop|start|invoke|register|unregister|rename|move|mount|dismount|update|write-eventlog|uninstall|install)-/.test(
          c.name,
        ),
    },
  ];
}

const READ_VERBS =
  /^(?:get|test|measure|select|where|sort|format|convertto|convertfrom|compare|group|resolve|find|out-string|out-host|out-null|out-default|out-gridview|write-output|write-host|write-verbose|write-information|write-debug|foreach|tee-object|start-sleep|read-host|join-path|split-path)(?:-|$)/;
const READ_ONLY_NAMES = new Set([
  'clear-host',
  'set-location',
  'push-location',
  'pop-location',
  'hostname',
  'whoami',
]);

export function isPsReadOnly(c: PsCommand): boolean {
  if (c.redirects.some((r) => !/^\$null$/i.test(r.target))) return false;
  if (c.name === 'tee-object' && hasParam(c, 'filepath')) return false;
  return READ_VERBS.test(c.name) || READ_ONLY_NAMES.has(c.name);
}

/** Rules over a pipeline: what flows into Stop-Process, Remove-Item or Invoke-Expression. */
export const PS_PIPELINE_RULES: Rule<PsCommand[]>[] = [
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'pipes every process into Stop-Process',
    match: (stages) => {
      const from = stages.findIndex(
        (c) =>
          c.name === 'get-process' &&
          (names(c).length === 0 || names(c).some((n) => CRITICAL_PROCESSES.test(n))),
      );
      return (
        from >= 0 &&
        stages.slice(from + 1).some((c) => c.name === 'stop-process') &&
        !stages.some((c) => c.name === 'where-object' || c.name === 'select-object')
      );
    },
  },
  {
    rule: 'critical-service-stop',
    level: 'dangerous',
    reason: 'pipes critical or all services into Stop-Service',
    match: (stages) => {
      const from = stages.find((c) => c.name === 'get-service');
      const stops = stages.some(
        (c) =>
          /^(?:stop|suspend)-service$/.test(c.name) ||
          (c.name === 'set-service' && /disabled/i.test(c.args.join(' '))),
      );
      return (
        !!from &&
        stops &&
        (names(from).length === 0 ||
          names(from).some((n) => CRITICAL_SERVICES.test(n) || SECURITY_SERVICES.test(n)))
      );
    },
  },
  {
    rule: 'system-path-deletion',
    level: 'dangerous',
    reason: 'pipes the contents of a system or profile path into Remove-Item',
    match: (stages) =>
      stages.some((c) => c.name === 'remove-item') &&
      firstOf(
        stages.filter((c) => c.name === 'get-childitem'),
        deletedPath,
      ),
  },
];

const DOWNLOAD =
  /invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b|net\.webclient|downloadstring|downloaddata|downloadfile|start-bitstransfer|httpclient|getstringasync|\bcurl(?:\.exe)?\b|\bwget\b/;
const EXECUTE =
  /invoke-expression|\biex\b|\[scriptblock\]::create|\.invoke\(|invoke-command\b[^|;]*-scriptblock\s*\(|&\s*\(|\|\s*(?:powershell|pwsh)\b/;

/** Rules over the normalised script text (lower case, backticks and literal concatenations removed). */
export const PS_TEXT_RULES: Rule<string>[] = [
  {
    rule: 'download-execute',
    level: 'dangerous',
    reason: 'runs code fetched from the network',
    match: (t) => DOWNLOAD.test(t) && EXECUTE.test(t),
  },
  {
    rule: 'encoded-execution',
    level: 'dangerous',
    reason: 'decodes hidden content and runs it',
    match: (t) =>
      /frombase64string|\[char\][^;]*-join|-bxor|gzipstream|deflatestream/.test(t) && EXECUTE.test(t),
  },
  {
    rule: 'credential-dumping',
    level: 'dangerous',
    reason: 'dumps LSASS memory or credentials',
    match: (t) =>
      /mimikatz|sekurlsa|lsadump::|minidumpwritedump|comsvcs(?:\.dll)?\W+#?(?:24|minidump)|procdump[^;|]*lsass|out-minidump/.test(
        t,
      ),
  },
  {
    rule: 'fork-bomb',
    level: 'dangerous',
    reason: 'spawns processes without end',
    match: (t) =>
      /(?:while\s*\(\s*(?:\$true|1)\s*\)|for\s*\(\s*;\s*;\s*\))\s*\{[^}]*(?:start-process|saps|start-job|\bstart\b|powershell|pwsh|cmd)/.test(
        t,
      ) || /function\s+([\w-]+)\s*\{[^}]*\b\1\s*\|\s*\1\b/.test(t),
  },
  {
    rule: 'backup-destruction',
    level: 'dangerous',
    reason: 'deletes volume shadow copies',
    match: (t) =>
      /win32_shadowcopy[^;]*(?:\|\s*(?:remove-wmiobject|remove-ciminstance|rwmi|rcim)\b|\.delete\(\))/.test(
        t,
      ),
  },
  {
    rule: 'obfuscated-command',
    level: 'dangerous',
    reason: 'hides Invoke-Expression behind a new alias',
    match: (t) => /\b(?:sal|nal|set-alias|new-alias)\b[^;|\n]*\b(?:iex|invoke-expression)\b/.test(t),
  },
  {
    rule: 'shutdown-reboot',
    level: 'dangerous',
    reason: 'shuts down the machine through WMI',
    match: (t) => /win32shutdown|\.(?:shutdown|reboot)\s*\(/.test(t),
  },
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'kills every process',
    match: (t) =>
      /\(\s*(?:get-process|gps|ps)\s*\)\s*\.kill\(\)|(?:get-process|gps|ps)\s*\|\s*(?:foreach-object|%)\s*\{[^}]*\.kill\(\)/.test(
        t,
      ),
  },
  {
    rule: 'security-disable',
    level: 'dangerous',
    reason: 'turns off a security feature in the registry',
    match: (t) =>
      /(?:set|new)-itemproperty[^;|]*(?:disableantispyware|disablerealtimemonitoring|enablelua|disableantivirus)/.test(
        t,
      ),
  },
  {
    rule: 'system-path-deletion',
    level: 'dangerous',
    reason: 'deletes a system path through .NET',
    match: (t) => {
      const m = /\[(?:system\.)?io\.(?:directory|file)\]::delete\(\s*['"]([^'"]+)['"]/.exec(t);
      return m ? windowsPathDanger(m[1] ?? '') : null;
    },
  },
];
