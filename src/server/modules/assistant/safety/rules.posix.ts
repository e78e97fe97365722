/** The named rules for bash/sh, over normalised simple commands, pipelines and the raw text. */
import { posixPathDanger } from './paths.js';
import { firstOf, type Rule, type SimpleCommand } from './rule.js';
import { hasFlag, operands, SAFE_SINK, sub } from './posix.args.js';
import {
  isPackageQuery,
  isPosixReadOnly,
  PACKAGE_MANAGERS,
  SYSTEMCTL_READS,
} from './rules.posix.readonly.js';

type Cmd = SimpleCommand;

const recursive = (c: Cmd) => hasFlag(c.args, 'rR', ['--recursive']);

const DELETERS = new Set(['rm', 'rmdir', 'unlink', 'shred', 'srm', 'wipe']);
const PARTITIONERS = new Set([
  'fdisk',
  'sfdisk',
  'cfdisk',
  'gdisk',
  'sgdisk',
  'parted',
  'wipefs',
  'blkdiscard',
]);
const BLOCK_DEVICE = /^\/dev\/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|md\d|dm-|mapper\/|loop|mem$|kmem$|port$|root)/;
const HISTORY_FILE =
  /(?:^|\/)\.(?:bash|zsh|sh|python|mysql|psql|node_repl|sqlite)_history$|(?:^|\/)\.(?:zhistory|lesshst)$/;
const SECRET_FILE =
  /^\/etc\/(?:g?shadow-?|security\/opasswd|master\.passwd)$|\/\.ssh\/id_(?:rsa|dsa|ecdsa|ed25519)$|\/\.aws\/credentials$/;
const ACCOUNT_FILE =
  /^\/etc\/(?:passwd|shadow|group|gshadow|sudoers)$|^\/etc\/sudoers\.d\/|\/\.ssh\/authorized_keys2?$/;
const SECURITY_UNITS =
  /^(?:firewalld|ufw|iptables|ip6tables|nftables|apparmor|auditd|selinux|clamav-daemon|clamav-freshclam|clamd|falcon-sensor|wazuh-agent|ossec|osqueryd|mdatp|sentinelone|fail2ban|csf|lfd|crowdstrike)(?:\.service)?$/;
const CRITICAL_UNITS =
  /^(?:sshd?|dbus|networking|network|networkmanager|systemd-[a-z-]+|getty@.*|fleetplane-agent|rsyslog|syslog|cron|crond|containerd|kubelet)(?:\.service|\.socket)?$/;
const CORE_PACKAGES =
  /^(?:libc6|libc-bin|glibc|musl|systemd|systemd-sysv|bash|dash|coreutils|sudo|openssh-server|openssh|ssh|apt|dpkg|rpm|yum|dnf|python3|linux-image.*|linux-generic|kernel(?:-core)?|grub.*|util-linux|login|passwd|shadow-utils|init|base-files|libpam.*|pam|e2fsprogs|mount|sed|grep|gawk|tar|perl-base|openssl|libssl.*|ca-certificates|iproute2|dbus|udev|busybox|alpine-base|filesystem|setup|core\d*|snapd|\*.*)$/;
const DOWNLOADERS = new Set(['curl', 'wget', 'fetch', 'aria2c', 'lwp-download', 'http', 'xh']);
const INTERPRETERS =
  /^(?:sh|bash|zsh|dash|ksh|ash|fish|python[0-9.]*|perl|ruby|node|php|lua|pwsh|powershell|sudo|doas|source|\.|eval)$/;

const writeTargets = (c: Cmd) => [
  ...c.redirects.filter((r) => r.op.includes('>')).map((r) => r.target),
  ...(c.name === 'tee' ? operands(c.args) : []),
  ...(c.name === 'dd' ? c.args.filter((a) => a.startsWith('of=')).map((a) => a.slice(3)) : []),
  ...(['cp', 'mv', 'install', 'ln'].includes(c.name) ? operands(c.args).slice(-1) : []),
  ...(c.name === 'truncate' ? operands(c.args) : []),
];
const truncated = (c: Cmd) => [
  ...c.redirects.filter((r) => /^(?:>|>\||&>)$/.test(r.op)).map((r) => r.target),
  ...(['truncate', 'shred', 'rm', 'unlink'].includes(c.name) ? operands(c.args) : []),
  ...(c.name === 'cp' && operands(c.args)[0] === '/dev/null' ? operands(c.args).slice(-1) : []),
];

/** Is this (kill) argument list aimed at every process, or at init? */
function killsEverything(args: string[]): boolean {
  const pids = args[0]?.startsWith('-') && args[0] !== '-1' && args[0] !== '--' ? args.slice(1) : args;
  return pids
    .filter((p) => p !== '--' && p !== '-s' && !/^[A-Z]+$/.test(p))
    .some((p) => p === '-1' || p === '1');
}

function broadPattern(c: Cmd): boolean {
  const valued = ['-u', '-U', '-g', '-G', '-t', '-s', '-P', '--signal', '-o'];
  const patterns: string[] = [];
  for (let i = 0; i < c.args.length; i += 1) {
    const arg = c.args[i] ?? '';
    if (valued.includes(arg)) i += 1;
    else if (!arg.startsWith('-')) patterns.push(arg);
  }
  if (hasFlag(c.args, 'v', ['--inverse'])) return true;
  if (patterns.length === 0) return c.name === 'killall' || hasFlag(c.args, 'uUgG');
  return patterns.some((p) => /^(?:\.\*?|\^|\*|\.\+|.|init|systemd|sshd?|dbus(?:-daemon)?|bash|sh)$/.test(p));
}

export const POSIX_RULES: Rule<Cmd>[] = [
  {
    rule: 'system-path-deletion',
    level: 'dangerous',
    reason: 'deletes a system or home path',
    match: (c) =>
      (DELETERS.has(c.name) && (c.args.includes('--no-preserve-root') ? 'the root filesystem' : null)) ||
      (DELETERS.has(c.name) &&
        firstOf(operands(c.args), (p) => posixPathDanger(p, recursive(c) || c.name === 'rmdir'))) ||
      (c.name === 'find' &&
        c.args.some((a) => a === '-delete' || /^(?:-exec|-execdir|-ok)$/.test(a)) &&
        firstOf(operands(c.args).slice(0, 1), (p) => posixPathDanger(p, true))) ||
      (c.name === 'rsync' &&
        c.args.some((a) => a.startsWith('--delete')) &&
        posixPathDanger(operands(c.args).at(-1) ?? '', true)),
  },
  {
    rule: 'system-path-move',
    level: 'dangerous',
    reason: 'moves a system or home path away',
    match: (c) => c.name === 'mv' && firstOf(operands(c.args).slice(0, -1), (p) => posixPathDanger(p, true)),
  },
  {
    rule: 'system-permission-change',
    level: 'dangerous',
    reason: 'changes ownership or permissions of a system path',
    match: (c) =>
      ['chmod', 'chown', 'chgrp', 'setfacl', 'chattr'].includes(c.name) &&
      firstOf(operands(c.args).slice(1), (p) => posixPathDanger(p, recursive(c))),
  },
  {
    rule: 'disk-format',
    level: 'dangerous',
    reason: 'formats, partitions or wipes a disk',
    match: (c) =>
      /^(?:mkfs(?:\..+)?|mke2fs|mkswap|mkntfs|mkdosfs|mkfs\.vfat)$/.test(c.name) ||
      (PARTITIONERS.has(c.name) &&
        !/^(?:-l|--list|print|-p|--print)$/.test(c.args[0] ?? '') &&
        !c.args.includes('print')) ||
      (c.name === 'dd' && c.args.some((a) => a.startsWith('of=/dev/') && BLOCK_DEVICE.test(a.slice(3)))) ||
      (c.name === 'hdparm' && c.args.some((a) => /^--(?:security-erase|trim-sector)/.test(a))) ||
      (c.name === 'zpool' && ['destroy', 'labelclear'].includes(sub(c))) ||
      ['lvremove', 'vgremove', 'pvremove'].includes(c.name) ||
      (c.name === 'mdadm' && c.args.includes('--zero-superblock')) ||
      (c.name === 'cryptsetup' && ['luksformat', 'erase', 'luksErase'].includes(sub(c).toLowerCase())) ||
      (c.name === 'shred' && operands(c.args).some((p) => BLOCK_DEVICE.test(p))),
  },
  {
    rule: 'raw-device-write',
    level: 'dangerous',
    reason: 'writes directly to a block device or kernel memory',
    match: (c) => c.name !== 'dd' && firstOf(writeTargets(c), (t) => (BLOCK_DEVICE.test(t) ? t : null)),
  },
  {
    rule: 'log-tampering',
    level: 'dangerous',
    reason: 'truncates or deletes system logs',
    match: (c) =>
      firstOf(truncated(c), (t) => (/^\/var\/(?:log|run\/utmp|adm)\b/.test(t) ? t : null)) ||
      (c.name === 'journalctl' && c.args.some((a) => a.startsWith('--vacuum'))),
  },
  {
    rule: 'history-clearing',
    level: 'dangerous',
    reason: 'clears or disables the shell history',
    match: (c) =>
      (c.name === 'history' && hasFlag(c.args, 'cdw')) ||
      (c.name === 'unset' && c.args.some((a) => /^HIST/.test(a))) ||
      (c.name === 'export' &&
        c.args.some((a) => /^HIST(?:FILE|SIZE|FILESIZE)=(?:\/dev\/null|0|)$/.test(a))) ||
      (c.name === 'set' && c.args.includes('+o') && c.args.includes('history')) ||
      firstOf([...truncated(c), ...(c.name === 'ln' ? operands(c.args) : [])], (t) =>
        HISTORY_FILE.test(t) ? t : null,
      ),
  },
  {
    rule: 'security-disable',
    level: 'dangerous',
    reason: 'disables the firewall, antivirus, auditing or SELinux',
    match: (c) =>
      (c.name === 'setenforce' && /^(?:0|permissive)$/i.test(c.args[0] ?? '')) ||
      (c.name === 'ufw' && ['disable', 'reset'].includes(sub(c))) ||
      (['systemctl', 'service', 'chkconfig', 'update-rc.d'].includes(c.name) &&
        /^(?:stop|disable|mask|kill|off|remove)$/.test(
          c.name === 'systemctl' ? sub(c) : (operands(c.args)[1] ?? ''),
        ) &&
        operands(c.args).some((u) => SECURITY_UNITS.test(u.toLowerCase()))) ||
      ['aa-teardown', 'aa-disable'].includes(c.name) ||
      (c.name === 'auditctl' && (c.args.includes('-D') || (c.args.includes('-e') && c.args.includes('0')))) ||
      (c.name === 'sysctl' && c.args.some((a) => /randomize_va_space=0/.test(a))) ||
      (c.name === 'mdatp' && c.args.includes('disabled')) ||
      (writeTargets(c)
        .concat(c.name === 'sed' ? operands(c.args) : [])
        .some((t) => t === '/etc/selinux/config') &&
        c.args.some((a) => /disabled|permissive/.test(a))),
  },
  {
    rule: 'firewall-flush',
    level: 'dangerous',
    reason: 'removes every firewall rule',
    match: (c) =>
      (/^ip6?tables(?:-legacy|-nft)?$/.test(c.name) &&
        (hasFlag(c.args, 'FX', ['--flush', '--delete-chain']) ||
          (hasFlag(c.args, 'P', ['--policy']) && c.args.includes('ACCEPT')))) ||
      (c.name === 'nft' && c.args.includes('flush')),
  },
  {
    rule: 'critical-service-stop',
    level: 'dangerous',
    reason: 'stops or disables a service the machine needs to stay reachable',
    match: (c) =>
      (c.name === 'systemctl' &&
        /^(?:stop|disable|mask|kill)$/.test(sub(c)) &&
        firstOf(operands(c.args).slice(1), (u) => (CRITICAL_UNITS.test(u.toLowerCase()) ? u : null))) ||
      (c.name === 'service' &&
        /^(?:stop)$/.test(operands(c.args)[1] ?? '') &&
        CRITICAL_UNITS.test(sub(c).toLowerCase())) ||
      (c.name === 'systemctl' && sub(c) === 'isolate'),
  },
  {
    rule: 'network-disable',
    level: 'dangerous',
    reason: 'takes the network down, cutting the machine off',
    match: (c) =>
      (c.name === 'ip' && c.args.includes('link') && c.args.includes('down')) ||
      (c.name === 'ifconfig' && c.args.includes('down')) ||
      c.name === 'ifdown' ||
      (c.name === 'nmcli' && c.args.includes('networking') && c.args.includes('off')),
  },
  {
    rule: 'shutdown-reboot',
    level: 'dangerous',
    reason: 'shuts down, reboots or suspends the machine',
    match: (c) =>
      (c.name === 'shutdown' && !c.args.includes('-c')) ||
      ['reboot', 'halt', 'poweroff', 'kexec'].includes(c.name) ||
      (['init', 'telinit'].includes(c.name) && /^[0156sS]$/.test(c.args[0] ?? '')) ||
      (['systemctl', 'loginctl'].includes(c.name) &&
        /^(?:poweroff|reboot|halt|kexec|suspend|hibernate|hybrid-sleep|rescue|emergency|soft-reboot)$/.test(
          sub(c),
        )) ||
      writeTargets(c).includes('/proc/sysrq-trigger'),
  },
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'kills every process, or processes the system depends on',
    match: (c) =>
      (c.name === 'kill' && killsEverything(c.args)) ||
      c.name === 'killall5' ||
      ((c.name === 'pkill' || c.name === 'killall') && broadPattern(c)),
  },
  {
    rule: 'account-change',
    level: 'dangerous',
    reason: 'creates, changes or deletes accounts, passwords or sudo rights',
    match: (c) =>
      /^(?:useradd|adduser|usermod|userdel|deluser|chpasswd|gpasswd|groupmod|newusers|vipw|vigr|visudo|chsh|smbpasswd|pwconv)$/.test(
        c.name,
      ) ||
      (c.name === 'passwd' && !hasFlag(c.args, 'S', ['--status'])) ||
      (c.name === 'chage' && !hasFlag(c.args, 'l', ['--list'])) ||
      firstOf(
        [...writeTargets(c), ...(c.name === 'sed' && hasFlag(c.args, 'i') ? operands(c.args) : [])],
        (t) => (ACCOUNT_FILE.test(t.replace(/^(?:~|\$HOME)/, '/~')) ? t : null),
      ),
  },
  {
    rule: 'credential-dumping',
    level: 'dangerous',
    reason: 'reads or dumps password hashes, private keys or credentials',
    match: (c) =>
      /^(?:mimikatz|mimipenguin|unshadow|john|hashcat|lazagne|pypykatz|secretsdump(?:\.py)?)$/.test(c.name) ||
      (c.name === 'getent' && /^g?shadow$/.test(c.args[0] ?? '')) ||
      (!['ls', 'stat', 'file', 'test', '['].includes(c.name) &&
        firstOf([...c.args, ...c.redirects.filter((r) => r.op.startsWith('<')).map((r) => r.target)], (a) =>
          SECRET_FILE.test(a.replace(/^(?:~|\$HOME)/, '/home/~')) ? a : null,
        )),
  },
  {
    rule: 'reverse-shell',
    level: 'dangerous',
    reason: 'connects a shell to a remote host',
    match: (c) =>
      c.redirects.some((r) => /^\/dev\/(?:tcp|udp)\//.test(r.target)) ||
      (/^(?:nc|ncat|netcat|nc\.traditional)$/.test(c.name) &&
        hasFlag(c.args, 'ec', ['--exec', '--sh-exec'])) ||
      (c.name === 'socat' && c.args.some((a) => /^(?:exec|system):/i.test(a))),
  },
  {
    rule: 'crontab-removal',
    level: 'dangerous',
    reason: "removes the user's whole crontab",
    match: (c) => c.name === 'crontab' && hasFlag(c.args, 'r'),
  },
  {
    rule: 'core-package-removal',
    level: 'dangerous',
    reason: 'removes a package the system cannot run without',
    match: (c) =>
      packageRemoval(c) && firstOf(packageNames(c), (p) => (CORE_PACKAGES.test(p.toLowerCase()) ? p : null)),
  },
  {
    rule: 'system-file-overwrite',
    level: 'dangerous',
    reason: 'overwrites a system file',
    match: (c) =>
      firstOf(
        c.redirects.filter((r) => /^(?:>|>\||&>)$/.test(r.op)).map((r) => r.target),
        (t) => (t.startsWith('/') && !SAFE_SINK.test(t) ? posixPathDanger(t, false) : null),
      ) ||
      firstOf(writeTargets(c), (t) =>
        t.startsWith('/') && !SAFE_SINK.test(t) && !t.startsWith('/etc/') ? posixPathDanger(t, false) : null,
      ),
  },
  ...cautionRules(),
];

function packageRemoval(c: Cmd): boolean {
  const s = sub(c);
  return (
    (['apt', 'apt-get', 'aptitude'].includes(c.name) && ['remove', 'purge', 'autoremove'].includes(s)) ||
    (['yum', 'dnf', 'microdnf'].includes(c.name) && ['remove', 'erase', 'autoremove'].includes(s)) ||
    (c.name === 'zypper' && ['rm', 'remove'].includes(s)) ||
    (c.name === 'pacman' && c.args.some((a) => /^-R/.test(a))) ||
    (c.name === 'apk' && s === 'del') ||
    (c.name === 'rpm' && hasFlag(c.args, 'e', ['--erase'])) ||
    (c.name === 'dpkg' && hasFlag(c.args, 'rP', ['--remove', '--purge'])) ||
    (c.name === 'snap' && s === 'remove')
  );
}

function packageNames(c: Cmd): string[] {
  const names = operands(c.args);
  return ['rpm', 'dpkg', 'pacman'].includes(c.name) ? names : names.slice(1);
}

const CHANGERS = new Set([
  'cp',
  'mv',
  'mkdir',
  'touch',
  'ln',
  'rsync',
  'tar',
  'unzip',
  'gzip',
  'gunzip',
  'install',
  'git',
  'docker',
  'kubectl',
  'sed',
  'perl',
  'vi',
  'vim',
  'nano',
  'emacs',
  'truncate',
  'dd',
  'mount',
  'umount',
  'swapoff',
  'swapon',
  'sysctl',
  'modprobe',
  'rmmod',
  'insmod',
  'chmod',
  'chown',
  'chgrp',
  'chattr',
  'groupadd',
  'groupdel',
  'hostnamectl',
  'timedatectl',
  'ssh-keygen',
  'ssh-copy-id',
  'scp',
  'crontab',
  'at',
  'kill',
  'pkill',
  'killall',
  'ufw',
  'firewall-cmd',
  'iptables',
  'ip6tables',
  'nft',
  'curl',
  'wget',
  'make',
  'journalctl',
  'shutdown',
]);

/** Routine state changes: caution, so a person confirms before they run. */
function cautionRules(): Rule<Cmd>[] {
  return [
    {
      rule: 'recursive-delete',
      level: 'caution',
      reason: 'deletes a directory tree',
      match: (c) => DELETERS.has(c.name) && recursive(c),
    },
    {
      rule: 'file-delete',
      level: 'caution',
      reason: 'deletes files',
      match: (c) => DELETERS.has(c.name) && !recursive(c),
    },
    {
      rule: 'find-delete',
      level: 'caution',
      reason: 'find runs a command or deletes what it finds',
      match: (c) =>
        c.name === 'find' && c.args.some((a) => /^-(?:delete|exec|execdir|ok|okdir|fprint.*|fls)$/.test(a)),
    },
    {
      rule: 'package-change',
      level: 'caution',
      reason: 'installs, updates or removes packages',
      match: (c) => PACKAGE_MANAGERS.has(c.name) && !isPackageQuery(c),
    },
    {
      rule: 'service-change',
      level: 'caution',
      reason: 'starts, stops or reconfigures a service',
      match: (c) =>
        (c.name === 'systemctl' && !SYSTEMCTL_READS.has(sub(c))) ||
        (c.name === 'service' && operands(c.args)[1] !== 'status'),
    },
    {
      rule: 'file-write',
      level: 'caution',
      reason: 'writes to a file',
      match: (c) => firstOf(writeTargets(c), (t) => (SAFE_SINK.test(t) ? null : t)),
    },
    {
      rule: 'state-change',
      fallback: true,
      level: 'caution',
      reason: 'changes files, processes or system settings',
      match: (c) => CHANGERS.has(c.name) && !isPosixReadOnly(c),
    },
  ];
}

/** Rules over a whole pipeline: what flows into a shell. */
export const POSIX_PIPELINE_RULES: Rule<Cmd[]>[] = [
  {
    rule: 'download-execute',
    level: 'dangerous',
    reason: 'pipes a download into an interpreter',
    match: (stages) => pipesInto(stages, (c) => DOWNLOADERS.has(c.name) || /^python[0-9.]*$/.test(c.name)),
  },
  {
    rule: 'encoded-execution',
    level: 'dangerous',
    reason: 'decodes hidden content and runs it',
    match: (stages) =>
      pipesInto(
        stages,
        (c) =>
          (c.name === 'base64' && hasFlag(c.args, 'dD', ['--decode'])) ||
          (c.name === 'openssl' && hasFlag(c.args, 'd')) ||
          (c.name === 'xxd' && hasFlag(c.args, 'r')) ||
          ['uudecode', 'gunzip', 'zcat', 'rev', 'base32'].includes(c.name) ||
          (c.name === 'printf' && c.args.some((a) => /\\x[0-9a-f]{2}/i.test(a))),
      ),
  },
];

function pipesInto(stages: Cmd[], source: (c: Cmd) => boolean): boolean {
  const first = stages.findIndex(source);
  return (
    first >= 0 &&
    stages
      .slice(first + 1)
      .some((c) => INTERPRETERS.test(c.name) && !c.args.some((a) => /\.(?:sh|py|pl|rb|js)$/.test(a)))
  );
}

/** Rules over the raw text, for shapes the command split hides. */
export const POSIX_TEXT_RULES: Rule<string>[] = [
  {
    rule: 'fork-bomb',
    level: 'dangerous',
    reason: 'spawns processes without end',
    match: (t) =>
      /(?<![\w:.])([\w:.]{1,64})\s*\(\)\s*\{[^}]{0,200}?\1\s*\|\s*\1\s*&/.test(t) ||
      /\bfork\b[^;'"]*\bwhile\b|\bwhile\b[^;]*\bfork\b/.test(t) ||
      /\bwhile\b[^;\n]*;\s*do\s+(?:\$0|bash|sh)\s*(?:\|[^;]*)?&\s*(?:done|;)/.test(t),
  },
  {
    rule: 'download-execute',
    level: 'dangerous',
    reason: 'runs what a download returns',
    match: (t) =>
      /(?:\b(?:eval|source|(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby|node|php)\b|(?:^|[;&|]\s*)\.)\s[^;&|\n]*(?:\$\(|<\(|`)\s*(?:sudo\s+)?(?:curl|wget|fetch)\b/.test(
        t,
      ),
  },
  {
    rule: 'encoded-execution',
    level: 'dangerous',
    reason: 'decodes hidden content and runs it',
    match: (t) =>
      /(?:\beval\b|\b(?:ba|z|da|k)?sh\s+-c|\bsource\b)[^\n]*(?:\$\(|`)[^)`]*(?:base64\s+(?:-d|--decode|-D)|xxd\s+-r|openssl\s+(?:enc|base64)[^)]*-d|base32\s+-d)/.test(
        t,
      ),
  },
];

const OUTPUT_FLAGS = new Set(['-o', '--output', '--output-document']);

/** The file a downloader writes (`curl -o f`, `wget -O f`), by base name; null for stdout or none. */
function downloadedFile(c: Cmd): string | null {
  if (!DOWNLOADERS.has(c.name)) return null;
  for (let i = 0; i < c.args.length; i += 1) {
    const arg = c.args[i] ?? '';
    const glued = /^(--output(?:-document)?)=(.+)$/.exec(arg);
    const file = glued
      ? glued[2]
      : OUTPUT_FLAGS.has(arg) || (arg === '-O' && c.name === 'wget')
        ? c.args[i + 1]
        : null;
    if (file && file !== '-') return file.split('/').pop() ?? file;
  }
  return null;
}

/** Rules over every command of the text in order: a file downloaded by one and run by a later one. */
export const POSIX_SCRIPT_RULES: Rule<Cmd[]>[] = [
  {
    rule: 'download-execute',
    level: 'dangerous',
    reason: 'downloads a file and then runs it',
    match: (commands) => {
      const files = new Set<string>();
      for (const c of commands) {
        const runs = [c.name, ...(INTERPRETERS.test(c.name) ? operands(c.args) : [])];
        const hit = runs.find((r) => files.has(r.split('/').pop() ?? r));
        if (hit) return hit;
        const file = downloadedFile(c);
        if (file) files.add(file);
      }
      return null;
    },
  },
];
