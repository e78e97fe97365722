/**
 * Which paths are precious: the root, system trees and home directories, on POSIX and Windows.
 * Paths are normalised first (quotes gone, `//` and `/./` folded, `..` resolved, case folded on
 * Windows, well-known variables expanded), so `/usr/../etc/` and `$HOME/` are recognised.
 */

/** Trees whose every file belongs to the operating system. */
const POSIX_SYSTEM_TREES = [
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/proc',
  '/sys',
  '/dev',
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib',
  '/usr/lib64',
  '/usr/libexec',
  '/etc/ssh',
  '/root/.ssh',
  '/etc/pam.d',
  '/etc/sudoers.d',
  '/etc/systemd',
  '/var/lib/dpkg',
  '/var/lib/rpm',
];
/** Directories whose direct children are precious too (for a recursive delete; any delete under /etc). */
const POSIX_SYSTEM_DIRS = ['/etc', '/usr', '/var', '/home', '/run'];
const POSIX_HOME_SECRETS = ['.ssh', '.gnupg', '.aws', '.kube', '.config'];

export function normalizePosixPath(raw: string): string {
  let path = raw.trim().replace(/^\$\{?HOME\}?(?=\/|$)/, '~');
  if (path === '~' || path.startsWith('~/')) path = '/~' + path.slice(1);
  if (!path.startsWith('/')) return path;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Why deleting (or, when `recursive`, deleting everything below) this POSIX path is dangerous, or null. */
export function posixPathDanger(raw: string, recursive: boolean): string | null {
  const normalized = normalizePosixPath(raw);
  const glob = /\/\*$/.test(normalized);
  const path = glob ? normalized.slice(0, -2) || '/' : normalized;
  // A relative path stays where the command runs: a named folder, not a system one.
  if (!path.startsWith('/')) return null;
  if (path === '/' || path === '') return 'the root filesystem';
  if (path === '/~') return 'the home directory';
  if (/^\/~[^/]+$/.test(path)) return 'a home directory';
  if (path.startsWith('/~/')) {
    const first = path.split('/')[2] ?? '';
    return POSIX_HOME_SECRETS.includes(first) ? `credentials in ${first}` : null;
  }
  if (POSIX_SYSTEM_TREES.some((tree) => path === tree || path.startsWith(tree + '/'))) {
    return `the system tree ${path}`;
  }
  const parts = path.split('/').filter(Boolean);
  const top = '/' + (parts[0] ?? '');
  // Emptying /tmp is routine; removing it is not.
  if (parts.length === 1) return path === '/tmp' && glob ? null : `the system directory ${path}`;
  const wide = recursive || glob;
  if (POSIX_SYSTEM_DIRS.includes(top) && parts.length === 2 && (wide || top === '/etc')) {
    return `the system directory ${path}`;
  }
  return null;
}

/** Well-known Windows variables, expanded for classification only. */
const WINDOWS_VARS: Record<string, string> = {
  systemroot: 'c:\\windows',
  windir: 'c:\\windows',
  systemdrive: 'c:',
  programfiles: 'c:\\program files',
  'programfiles(x86)': 'c:\\program files (x86)',
  programw6432: 'c:\\program files',
  programdata: 'c:\\programdata',
  allusersprofile: 'c:\\programdata',
  public: 'c:\\users\\public',
  userprofile: 'c:\\users\\~',
  home: 'c:\\users\\~',
  homepath: '\\users\\~',
  homedrive: 'c:',
  appdata: 'c:\\users\\~\\appdata\\roaming',
  localappdata: 'c:\\users\\~\\appdata\\local',
  temp: 'c:\\users\\~\\appdata\\local\\temp',
  tmp: 'c:\\users\\~\\appdata\\local\\temp',
  comspec: 'c:\\windows\\system32\\cmd.exe',
};

export function expandWindowsVars(raw: string): string {
  return raw
    .replace(/\$\{env:([^}]+)\}/gi, (m, name: string) => WINDOWS_VARS[name.toLowerCase()] ?? m)
    .replace(/\$env:([a-z0-9_]+(?:\(x86\))?)/gi, (m, name: string) => WINDOWS_VARS[name.toLowerCase()] ?? m)
    .replace(/%([a-z0-9_()]+)%/gi, (m, name: string) => WINDOWS_VARS[name.toLowerCase()] ?? m)
    .replace(/^(?:~|\$home)(?=\\|\/|$)/i, 'c:\\users\\~');
}

export function normalizeWindowsPath(raw: string): string {
  let path = expandWindowsVars(raw.trim())
    .toLowerCase()
    .replace(/\//g, '\\')
    .replace(/^(?:microsoft\.powershell\.core\\)?filesystem::/, '')
    .replace(/^\\\\\?\\/, '');
  if (/^\\(?!\\)/.test(path)) path = 'c:' + path;
  const drive = /^([a-z]:)/.exec(path)?.[1];
  if (!drive) return path;
  const parts: string[] = [];
  for (const part of path.slice(2).split('\\')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return [drive, ...parts].join('\\');
}

const WINDOWS_PRECIOUS = [
  'c:\\program files',
  'c:\\program files (x86)',
  'c:\\programdata',
  'c:\\users',
  'c:\\users\\public',
  'c:\\users\\default',
  'c:\\boot',
  'c:\\recovery',
  'c:\\system volume information',
];
const WINDOWS_HOME_PRECIOUS = [
  'appdata',
  'appdata\\roaming',
  'appdata\\local',
  'documents',
  'desktop',
  '.ssh',
];

/** Why deleting this Windows path is dangerous, or null. */
export function windowsPathDanger(raw: string): string | null {
  const path = normalizeWindowsPath(raw).replace(/\\\*(?:\.\*)?$/, '');
  if (/^[a-z]:$/.test(path)) return `the drive ${path}\\`;
  if (path === 'c:\\windows' || path.startsWith('c:\\windows\\')) return `the system tree ${path}`;
  if (WINDOWS_PRECIOUS.includes(path)) return `the system directory ${path}`;
  if (/^c:\\users\\[^\\]+$/.test(path)) return `the profile ${path}`;
  const home = /^c:\\users\\[^\\]+\\(.+)$/.exec(path)?.[1];
  if (home && WINDOWS_HOME_PRECIOUS.includes(home)) return `the profile folder ${home}`;
  if (/\\(?:ntds\.dit|sam|security|system)$/.test(path) && path.includes('config'))
    return 'a registry hive file';
  return null;
}

/** Registry paths in PowerShell (`HKLM:\x`, `Registry::HKEY_LOCAL_MACHINE\x`) and reg.exe (`HKLM\x`) form. */
export function registryDanger(raw: string): string | null {
  const path = raw
    .toLowerCase()
    .replace(/^(?:microsoft\.powershell\.core\\)?registry::/, '')
    .replace(/^hkey_local_machine/, 'hklm')
    .replace(/^hkey_current_user/, 'hkcu')
    .replace(/^hkey_classes_root/, 'hkcr')
    .replace(/^hkey_users/, 'hku')
    .replace(/^hkey_current_config/, 'hkcc')
    .replace(/^(hk[a-z]+):/, '$1')
    .replace(/\\+$/, '');
  const [hive, ...rest] = path.split('\\').filter(Boolean);
  if (!hive || !/^hk(?:lm|cu|cr|u|cc)$/.test(hive)) return null;
  if (hive !== 'hkcu') return `the ${hive.toUpperCase()} registry hive`;
  if (
    rest.length <= 1 ||
    (rest[0] === 'software' && ['microsoft', 'classes', 'policies'].includes(rest[1] ?? ''))
  ) {
    return 'a root key of the user registry hive';
  }
  return null;
}

export function isRegistryPath(raw: string): boolean {
  return /^(?:(?:microsoft\.powershell\.core\\)?registry::)?(?:hk(?:lm|cu|cr|u|cc)|hkey_[a-z_]+)(?::|\\|$)/i.test(
    raw,
  );
}
