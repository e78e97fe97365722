import type { OsType } from '../../../protocol/jobs.js';
import type { ScriptLanguage } from './scripts.schemas.js';

/** The tag every starter command carries, so they can be listed (`?tag=starter`) or removed together. */
export const STARTER_TAG = 'starter';

/** A starter that hangs (a log read on a huge journal) ends instead of holding a job slot. */
export const STARTER_TIMEOUT_SECONDS = 120;

interface StarterCommand {
  name: string;
  description: string;
  language: ScriptLanguage;
  /** Also a tag of the command: the library's list filters by tag, not by target OS. */
  target_os_type: Extract<OsType, 'linux' | 'windows' | 'macos'>;
  content: string;
}

type Entry = Omit<StarterCommand, 'language' | 'target_os_type'>;

/*
 * Linux: POSIX sh, so they run on distributions without bash. Each prefers the modern tool
 * (iproute2, systemd's journal) and falls back to the older one where it is missing.
 */
const linux: Entry[] = [
  {
    name: 'Disk usage (Linux)',
    description: 'Size, use and free space of each mounted filesystem, without tmpfs and snaps',
    content: 'df -h -x tmpfs -x devtmpfs -x squashfs 2>/dev/null || df -h',
  },
  {
    name: 'Top processes by memory (Linux)',
    description: 'The 15 processes holding the most memory (resident set, KiB)',
    content: 'ps -eo pid,user,%mem,rss,etime,comm --sort=-rss | head -n 16',
  },
  {
    name: 'Listening ports (Linux)',
    description: 'TCP and UDP sockets that listen, with their process (all processes when run as root)',
    content: 'ss -tulpn 2>/dev/null || netstat -tulpn',
  },
  {
    name: 'Recent system errors (Linux)',
    description: "The last 50 errors of systemd's journal, or of syslog where there is no journal",
    content:
      'if command -v journalctl >/dev/null 2>&1; then journalctl -p err -n 50 --no-pager; ' +
      "else grep -hiE 'error|crit|fail' /var/log/syslog /var/log/messages 2>/dev/null | tail -n 50; fi",
  },
  {
    name: 'Uptime and last boot (Linux)',
    description: 'How long the machine has been up, its load, and when it booted',
    content: 'uptime; printf \'last boot: %s\\n\' "$(uptime -s 2>/dev/null || who -b)"',
  },
  {
    name: 'Network interfaces (Linux)',
    description: 'Each interface, its state and its addresses',
    content: 'ip -brief address 2>/dev/null || ifconfig -a',
  },
  {
    name: 'Logged-in users (Linux)',
    description: 'Who is logged in, since when, and what they run',
    content: 'w 2>/dev/null || who',
  },
];

/* Windows: Windows PowerShell 5.1 (present on every supported Windows), wide tables kept whole. */
const windows: Entry[] = [
  {
    name: 'Disk usage (Windows)',
    description: 'Size and free space of each local disk',
    content:
      "Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | Select-Object DeviceID, VolumeName, " +
      "@{n='SizeGB';e={[math]::Round($_.Size/1GB,1)}}, @{n='FreeGB';e={[math]::Round($_.FreeSpace/1GB,1)}}, " +
      "@{n='FreePct';e={[math]::Round(100*$_.FreeSpace/$_.Size,1)}} | Format-Table -AutoSize | Out-String -Width 200",
  },
  {
    name: 'Top processes by memory (Windows)',
    description: 'The 15 processes holding the most memory (working set)',
    content:
      'Get-Process | Sort-Object WorkingSet64 -Descending | Select-Object -First 15 Id, ProcessName, ' +
      "@{n='WorkingSetMB';e={[math]::Round($_.WorkingSet64/1MB,1)}}, CPU | Format-Table -AutoSize | Out-String -Width 200",
  },
  {
    name: 'Listening ports (Windows)',
    description: 'TCP ports that listen and UDP endpoints, with their process',
    content:
      "$name = @{n='Process';e={(Get-Process -Id $_.OwningProcess -ErrorAction SilentlyContinue).ProcessName}}; " +
      'Get-NetTCPConnection -State Listen | Sort-Object LocalPort | Select-Object LocalAddress, LocalPort, OwningProcess, $name | Format-Table -AutoSize | Out-String -Width 200; ' +
      'Get-NetUDPEndpoint | Sort-Object LocalPort | Select-Object LocalAddress, LocalPort, OwningProcess, $name | Format-Table -AutoSize | Out-String -Width 200',
  },
  {
    name: 'Recent system errors (Windows)',
    description: 'Critical and error events of the System log in the last 24 hours (at most 50)',
    content:
      "Get-WinEvent -FilterHashtable @{LogName='System'; Level=1,2; StartTime=(Get-Date).AddDays(-1)} -MaxEvents 50 " +
      '-ErrorAction SilentlyContinue | Format-Table TimeCreated, Id, ProviderName, Message -AutoSize -Wrap | Out-String -Width 200',
  },
  {
    name: 'Uptime and last boot (Windows)',
    description: 'When the machine booted and how long it has been up',
    content:
      '$boot = (Get-CimInstance Win32_OperatingSystem).LastBootUpTime; "Last boot: $boot"; ' +
      '$up = (Get-Date) - $boot; "Uptime: $($up.Days) days $($up.Hours) hours $($up.Minutes) minutes"',
  },
  {
    name: 'Network interfaces (Windows)',
    description: 'Each network adapter, its state, and its IP addresses',
    content:
      'Get-NetAdapter | Format-Table Name, InterfaceDescription, Status, LinkSpeed, MacAddress -AutoSize | Out-String -Width 200; ' +
      'Get-NetIPAddress | Sort-Object InterfaceAlias | Format-Table InterfaceAlias, AddressFamily, IPAddress, PrefixLength -AutoSize | Out-String -Width 200',
  },
  {
    name: 'Logged-in users (Windows)',
    description: 'Console and remote desktop sessions (quser); the console user where quser is missing',
    content:
      'quser 2>$null; if (-not $?) { "Console user: $((Get-CimInstance Win32_ComputerSystem).UserName)" }',
  },
];

/* macOS: POSIX sh with the BSD tools and the unified log that macOS ships. */
const macos: Entry[] = [
  {
    name: 'Disk usage (macOS)',
    description: 'Size, use and free space of each local volume',
    content: 'df -hl',
  },
  {
    name: 'Top processes by memory (macOS)',
    description: 'The 15 processes holding the most memory (resident set, KiB)',
    content: 'ps -axm -o pid,user,%mem,rss,etime,comm | head -n 16',
  },
  {
    name: 'Listening ports (macOS)',
    description: 'TCP ports that listen and UDP sockets, with their process (all processes when run as root)',
    content: 'lsof -nP -iTCP -sTCP:LISTEN -iUDP',
  },
  {
    name: 'Recent system errors (macOS)',
    description: 'Errors and faults of the unified log in the last hour (the last 50)',
    content:
      "log show --last 1h --style compact --predicate 'messageType == error OR messageType == fault' | tail -n 50",
  },
  {
    name: 'Uptime and last boot (macOS)',
    description: 'How long the machine has been up, its load, and when it booted',
    content: 'uptime; echo "last boot: $(sysctl -n kern.boottime)"',
  },
  {
    name: 'Network interfaces (macOS)',
    description: 'Each interface, its state and its addresses',
    content: "ifconfig | grep -E '^[a-z]|inet6? |status:'",
  },
  {
    name: 'Logged-in users (macOS)',
    description: 'Who is logged in, since when, and what they run',
    content: 'w',
  },
];

function forOs(
  entries: Entry[],
  language: ScriptLanguage,
  target_os_type: StarterCommand['target_os_type'],
): StarterCommand[] {
  return entries.map((entry) => ({ ...entry, language, target_os_type }));
}

/**
 * The saved commands each new organisation starts with: ordinary rows, edited and deleted like
 * any other, and never added again after the organisation is created.
 */
export const starterCommands: readonly StarterCommand[] = [
  ...forOs(linux, 'sh', 'linux'),
  ...forOs(windows, 'powershell', 'windows'),
  ...forOs(macos, 'sh', 'macos'),
];
