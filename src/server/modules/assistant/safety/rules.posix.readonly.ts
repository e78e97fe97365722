/** Which bash/sh commands only read: the list that may call a command `safe`. */
import { hasFlag, operands, SAFE_SINK, sub } from './posix.args.js';
import type { SimpleCommand } from './rule.js';

type Cmd = SimpleCommand;

export const PACKAGE_MANAGERS = new Set([
  'apt',
  'apt-get',
  'aptitude',
  'yum',
  'dnf',
  'zypper',
  'pacman',
  'apk',
  'rpm',
  'dpkg',
  'snap',
  'brew',
  'pip',
  'pip3',
  'npm',
  'gem',
  'flatpak',
]);
export const SYSTEMCTL_READS = new Set([
  'status',
  'show',
  'list-units',
  'list-unit-files',
  'list-timers',
  'list-sockets',
  'is-active',
  'is-enabled',
  'is-failed',
  'cat',
  'list-dependencies',
  '',
]);
const GIT_READS = new Set([
  'status',
  'log',
  'diff',
  'show',
  'branch',
  'remote',
  'rev-parse',
  'describe',
  'blame',
  'ls-files',
  'tag',
]);

function isReadOnlyGit(c: Cmd): boolean {
  return (
    c.name === 'git' &&
    GIT_READS.has(sub(c)) &&
    operands(c.args).length <= 1 &&
    !hasFlag(c.args, 'dD', ['--delete'])
  );
}

export function isPackageQuery(c: Cmd): boolean {
  const s = sub(c);
  if (['apt', 'apt-get', 'yum', 'dnf', 'zypper', 'brew', 'snap', 'flatpak'].includes(c.name)) {
    return ['list', 'search', 'show', 'info', 'policy', 'repolist', 'history', 'check-update'].includes(s);
  }
  if (['pip', 'pip3'].includes(c.name)) return ['list', 'show', 'freeze', 'check'].includes(s);
  if (c.name === 'npm') return ['ls', 'list', 'view', 'outdated'].includes(s);
  if (c.name === 'dpkg') return hasFlag(c.args, 'lLsS', ['--list', '--status', '--listfiles']);
  if (c.name === 'rpm') return hasFlag(c.args, 'q', ['--query']);
  if (c.name === 'pacman') return c.args.some((a) => /^-Q/.test(a));
  return false;
}

const READ_ONLY = new Set(
  (
    'ls ll dir pwd whoami id hostname uname uptime cal df du free ps top htop pgrep pidof lsof ss netstat ping ping6 ' +
    'traceroute tracepath dig nslookup host cat less more head tail wc grep egrep fgrep rg locate which whereis type ' +
    'file stat echo printf printenv lsblk blkid lscpu lsusb lspci lsmod w who last lastlog vmstat iostat mpstat sar ' +
    'nproc sort uniq cut tr diff cmp md5sum sha1sum sha256sum sha512sum basename dirname realpath readlink test [ true ' +
    'false tree jq column nl od hexdump strings groups arch findmnt sleep date env getent lsb_release hostnamectl ' +
    'timedatectl free ip ifconfig route arp iptables-save ulimit umask dmidecode sensors tput clear : apt-cache ' +
    'apt-mark awk sed xxd zcat zgrep bzcat tac fold fmt expand paste join comm seq yes base64 gzip'
  ).split(' '),
);

/** Read-only only with these arguments: anything else makes them change state. */
const READ_ONLY_WHEN: Record<string, (c: Cmd) => boolean> = {
  date: (c) => !hasFlag(c.args, 's', ['--set']) && operands(c.args).every((a) => a.startsWith('+')),
  hostname: (c) => operands(c.args).length === 0,
  hostnamectl: (c) => ['', 'status'].includes(sub(c)),
  timedatectl: (c) => ['', 'status', 'show'].includes(sub(c)),
  ip: (c) => !c.args.some((a) => /^(?:add|del|delete|set|flush|change|replace|append)$/.test(a)),
  ifconfig: (c) => c.args.length <= 1,
  route: (c) => !c.args.some((a) => /^(?:add|del|delete|flush)$/.test(a)),
  arp: (c) => !hasFlag(c.args, 'ds'),
  env: (c) => c.args.length === 0,
  sed: (c) =>
    !hasFlag(c.args, 'i', ['--in-place']) && !c.args.some((a) => /(?:^|;)\s*[we]\b|\/[we]\s/.test(a)),
  awk: (c) => !c.args.some((a) => /system\s*\(|\|\s*"|>\s*"/.test(a)),
  xxd: (c) => !hasFlag(c.args, 'r'),
  gzip: (c) => hasFlag(c.args, 'lt', ['--list', '--test']),
  'apt-mark': (c) => sub(c).startsWith('show'),
  umask: (c) => operands(c.args).length === 0,
  ulimit: (c) => hasFlag(c.args, 'a') || c.args.length === 0,
  dmesg: (c) => !hasFlag(c.args, 'cCD', ['--clear', '--read-clear']),
  top: () => true,
  history: (c) => c.args.every((a) => /^\d+$/.test(a)),
};

export function isPosixReadOnly(c: Cmd): boolean {
  if (c.redirects.some((r) => r.op.includes('>') && !SAFE_SINK.test(r.target))) return false;
  const when = READ_ONLY_WHEN[c.name];
  if (when) return when(c);
  if (c.name === 'journalctl') return !c.args.some((a) => /^--(?:vacuum|rotate|flush)|^-c$/.test(a));
  if (c.name === 'systemctl') return SYSTEMCTL_READS.has(sub(c));
  if (c.name === 'service') return operands(c.args)[1] === 'status' || c.args.includes('--status-all');
  if (c.name === 'crontab') return hasFlag(c.args, 'l');
  if (c.name === 'find')
    return !c.args.some((a) => /^-(?:delete|exec|execdir|ok|okdir|fprint.*|fls)$/.test(a));
  if (c.name === 'fdisk' || c.name === 'parted' || c.name === 'sfdisk')
    return /^(?:-l|--list|-p)$/.test(c.args[0] ?? '');
  if (c.name === 'chage') return hasFlag(c.args, 'l');
  if (c.name === 'git') return isReadOnlyGit(c);
  if (PACKAGE_MANAGERS.has(c.name) || c.name === 'dpkg' || c.name === 'rpm') return isPackageQuery(c);
  if (c.name === 'docker' || c.name === 'podman')
    return /^(?:ps|images|logs|inspect|version|info|stats)$/.test(sub(c));
  if (c.name === 'kubectl') return /^(?:get|describe|logs|version|top|explain)$/.test(sub(c));
  if (/^ip6?tables$/.test(c.name)) return hasFlag(c.args, 'LS', ['--list', '--list-rules']);
  return READ_ONLY.has(c.name);
}
