/** The named rules for Python: calls by qualified name, shell-outs and whole-code shapes. */
import { posixPathDanger, registryDanger, windowsPathDanger } from './paths.js';
import { PY_BUILTINS, stringValue, type PyToken, type Scope } from './python.tokenize.js';
import { finding, type Rule } from './rule.js';
import { levelOf, type Nesting, type SafetyFinding } from './verdict.js';

export interface PyCall {
  /** Qualified name: `shutil.rmtree`, `os.system`, `pathlib.Path.unlink`, `open`. */
  name: string;
  args: PyToken[][];
  scope: Scope;
  /** For a method called on a call's result (`Path(x).unlink()`), that call. */
  receiver: PyCall | null;
  /** Called by a plain name (`print(...)`), not through a module or object. */
  bare: boolean;
}

const DELETERS =
  /^(?:shutil\.rmtree|os\.removedirs|os\.rmdir|os\.remove|os\.unlink|send2trash\.send2trash|pathlib\.Path\.(?:unlink|rmdir)|Path\.(?:unlink|rmdir))$/;
const SHELL_OUTS =
  /^(?:os\.(?:system|popen|exec\w*|spawn\w*|posix_spawnp?)|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|commands\.getoutput|pty\.spawn|asyncio\.create_subprocess_(?:shell|exec))$/;
const WRITERS = /^(?:pathlib\.)?Path\.(?:write_text|write_bytes|touch)$/;
const READERS = /^(?:pathlib\.)?Path\.(?:read_text|read_bytes)$/;
const SAFE_MODULES =
  /^(?:os\.path|platform|json|time|datetime|re|math|collections|itertools|functools|glob|statistics|string|textwrap|pprint|sys|struct|shlex|heapq|typing|dataclasses|operator|locale|sysconfig|getpass|decimal|fractions|random|uuid|hashlib|calendar|enum|copy|bisect|argparse|logging|csv|psutil|pwd|grp|tabulate|fnmatch|ipaddress|base64|binascii|zlib|io)\./;
const SAFE_CALLS = new Set([
  'os.listdir',
  'os.scandir',
  'os.walk',
  'os.getcwd',
  'os.getpid',
  'os.getppid',
  'os.getuid',
  'os.geteuid',
  'os.getlogin',
  'os.cpu_count',
  'os.uname',
  'os.stat',
  'os.lstat',
  'os.environ.get',
  'os.getenv',
  'os.access',
  'os.getloadavg',
  'os.environ.items',
  'socket.gethostname',
  'socket.gethostbyname',
  'socket.getfqdn',
  'shutil.disk_usage',
  'shutil.which',
  'pathlib.Path',
  'Path',
  'pathlib.Path.exists',
  'pathlib.Path.iterdir',
  'pathlib.Path.glob',
  'pathlib.Path.rglob',
  'pathlib.Path.stat',
  'pathlib.Path.is_dir',
  'pathlib.Path.is_file',
  'pathlib.Path.home',
  'pathlib.Path.cwd',
  'pathlib.Path.resolve',
  'open',
  'open.read',
  'open.readlines',
  'subprocess.PIPE',
]);
const MUTATING_METHODS =
  /\.(?:unlink|rmdir|write_text|write_bytes|kill|terminate|touch|mkdir|rename|chmod|truncate|send_signal|suspend|write|writelines|delete)$/;
const RAW_DEVICE = /^\/dev\/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|mem$|kmem$)|^\\\\\.\\physicaldrive/i;
const ACCOUNT_FILE = /^\/etc\/(?:passwd|shadow|group|gshadow|sudoers)$|^\/etc\/sudoers\.d\/|authorized_keys$/;
const SECRET_FILE =
  /^\/etc\/g?shadow$|\/\.ssh\/id_(?:rsa|dsa|ecdsa|ed25519)$|\/\.aws\/credentials$|\\config\\sam$/i;

const arg = (call: PyCall, index: number) =>
  call.args[index] ? stringValue(call.args[index], call.scope) : null;
const kwarg = (call: PyCall, key: string) => {
  const tokens = call.args.find((a) => a[0]?.value === key && a[1]?.value === '=');
  return tokens ? stringValue(tokens.slice(2), call.scope) : null;
};
const argText = (call: PyCall) =>
  call.args
    .flat()
    .map((t) => t.value)
    .join('');

function pathDanger(path: string, recursive: boolean): string | null {
  return /^[a-z]:|\\|^%/i.test(path) ? windowsPathDanger(path) : posixPathDanger(path, recursive);
}

function deletion(call: PyCall): SafetyFinding[] {
  const path = call.receiver ? arg(call.receiver, 0) : arg(call, 0);
  // Removing a directory itself is as bad as emptying it.
  const recursive = /rmtree|removedirs|rmdir/.test(call.name);
  if (path !== null && /\.(?:bash|zsh|sh|python|mysql|psql)_history$|consolehost_history\.txt$/i.test(path)) {
    return [finding('history-clearing', 'dangerous', `deletes the command history ${path}`)];
  }
  const danger = path === null ? null : pathDanger(path, recursive);
  if (danger)
    return [finding('system-path-deletion', 'dangerous', `deletes a system or home path: ${danger}`)];
  return [
    finding(
      recursive ? 'recursive-delete' : 'file-delete',
      'caution',
      `deletes ${path ?? 'a computed path'}`,
    ),
  ];
}

/** A shell-out is judged by the bash and cmd analyzers: dangerous in either is dangerous; else the milder. */
function shellOut(call: PyCall, nest: Nesting): SafetyFinding[] {
  const list = call.args.find((a) => a[0]?.value === '[');
  const command = list
    ? stringValue(list, call.scope)
    : /^os\.(?:exec|spawn)/.test(call.name)
      ? null
      : arg(call, 0);
  if (command === null)
    return [finding('dynamic-shell-command', 'caution', 'runs a command built at run time')];
  const bash = nest.inner(command, 'bash');
  const cmd = nest.inner(command, 'cmd');
  const dangerous = [...bash, ...cmd].filter((f) => f.level === 'dangerous');
  if (dangerous.length) return dangerous;
  return levelOf(cmd) === 'safe' && levelOf(bash) !== 'safe' ? cmd : bash;
}

function fileAccess(call: PyCall): SafetyFinding[] {
  const isOpen = call.name === 'open' || call.name === 'io.open';
  const path = isOpen ? arg(call, 0) : call.receiver ? arg(call.receiver, 0) : null;
  const mode = isOpen ? (arg(call, 1) ?? kwarg(call, 'mode') ?? 'r') : WRITERS.test(call.name) ? 'w' : 'r';
  if (path === null) return /[wax+]/.test(mode) ? [finding('file-write', 'caution', 'writes a file')] : [];
  if (!/[wax+]/.test(mode)) {
    return SECRET_FILE.test(path.replace(/^~/, '/home/~'))
      ? [finding('credential-dumping', 'dangerous', `reads credentials from ${path}`)]
      : [];
  }
  if (RAW_DEVICE.test(path)) return [finding('raw-device-write', 'dangerous', `writes directly to ${path}`)];
  if (path === '/proc/sysrq-trigger')
    return [finding('shutdown-reboot', 'dangerous', 'triggers a kernel SysRq action')];
  if (ACCOUNT_FILE.test(path)) return [finding('account-change', 'dangerous', `writes ${path}`)];
  if (/^\/var\/log\//.test(path) && mode.includes('w'))
    return [finding('log-tampering', 'dangerous', `truncates ${path}`)];
  const danger = pathDanger(path, false);
  if (danger) return [finding('system-file-overwrite', 'dangerous', `writes ${danger}`)];
  return [finding('file-write', 'caution', `writes ${path}`)];
}

const DECODERS =
  /b64decode|b32decode|b85decode|a85decode|codecs\.decode|fromhex|unhexlify|zlib\.decompress|marshal\.loads|rot.?13|bz2\.decompress|lzma\.decompress/;
const DOWNLOADS =
  /urlopen|urllib|requests\.|httpx\.|urlretrieve|http\.client|\.recv\(|\brecv\b|urllib2|\.get\(\s*['"]https?:/;

function dynamicCode(call: PyCall, nest: Nesting): SafetyFinding[] {
  const text = argText(call);
  if (DOWNLOADS.test(text))
    return [finding('download-execute', 'dangerous', 'runs code fetched from the network')];
  if (DECODERS.test(text))
    return [finding('encoded-execution', 'dangerous', 'decodes hidden code and runs it')];
  const literal = arg(call, 0);
  if (literal !== null) return nest.inner(literal, 'python');
  return [finding('dynamic-code', 'caution', 'runs code built at run time')];
}

function processKill(call: PyCall): SafetyFinding[] {
  const pid = call.args[0]?.map((t) => t.value).join('') ?? '';
  if (/^(?:-1|1|0)$/.test(pid))
    return [finding('mass-process-kill', 'dangerous', `signals process group ${pid}`)];
  return [finding('process-kill', 'caution', 'sends a signal to a process')];
}

function registry(call: PyCall): SafetyFinding[] {
  const hive = (call.args[0] ?? [])
    .map((t) => t.value)
    .join('')
    .replace(/^\w+\./, '');
  const key = arg(call, 1) ?? '';
  const danger = /^Delete/.test(call.name.split('.').pop() ?? '') ? registryDanger(`${hive}\\${key}`) : null;
  if (danger) return [finding('registry-hive-deletion', 'dangerous', `deletes ${danger}`)];
  return [finding('registry-change', 'caution', 'changes the registry')];
}

/** Findings for one call; unknown module functions are caution, never safe. */
export function callFindings(call: PyCall, nest: Nesting): SafetyFinding[] {
  const { name } = call;
  if (DELETERS.test(name)) return deletion(call);
  if (SHELL_OUTS.test(name)) return shellOut(call, nest);
  if (name === 'open' || name === 'io.open' || WRITERS.test(name) || READERS.test(name))
    return fileAccess(call);
  if (name === 'exec' || name === 'eval' || name === 'compile' || name === 'builtins.exec')
    return dynamicCode(call, nest);
  if (name === 'os.kill' || name === 'os.killpg') return processKill(call);
  if (/^(?:_?winreg)\.(?:Delete\w*|SetValue\w*|CreateKey\w*)$/.test(name)) return registry(call);
  if (/^os\.(?:chmod|chown|lchown)$/.test(name)) {
    const danger = pathDanger(arg(call, 0) ?? '', false);
    return [
      danger
        ? finding('system-permission-change', 'dangerous', danger)
        : finding('permission-change', 'caution', 'changes permissions'),
    ];
  }
  if (
    name === 'spwd.getspall' ||
    name === 'spwd.getspnam' ||
    /CryptUnprotectData|MiniDumpWriteDump/.test(name)
  ) {
    return [finding('credential-dumping', 'dangerous', 'reads password hashes or protected credentials')];
  }
  if (name === 'os.fork') return [finding('process-spawn', 'caution', 'forks the process')];
  if (
    /^(?:shutil\.(?:move|copy\w*)|os\.(?:rename|replace|mkdir|makedirs|symlink|link|setuid|setgid|putenv)|tempfile\.)/.test(
      name,
    )
  ) {
    return [finding('file-change', 'caution', `${name} changes files or process state`)];
  }
  if (
    /^(?:urllib|requests|httpx|http\.client|socket|paramiko|ftplib|smtplib)\b/.test(name) &&
    !SAFE_CALLS.has(name)
  ) {
    return [finding('network-access', 'caution', `${name} talks to the network`)];
  }
  if (/^ctypes\b/.test(name)) return [finding('native-code', 'caution', 'calls native code')];
  if (SAFE_CALLS.has(name) || SAFE_MODULES.test(name + (name.includes('.') ? '' : '.'))) return [];
  if (call.bare && (PY_BUILTINS.has(name) || call.scope.defined.has(name))) return [];
  if (!call.bare && !call.scope.aliases.has(name.split('.')[0] ?? '') && call.receiver === null) {
    return MUTATING_METHODS.test(name)
      ? [finding('state-change', 'caution', `${name} may change state`)]
      : [];
  }
  if (call.receiver)
    return MUTATING_METHODS.test(name)
      ? [finding('state-change', 'caution', `${name} may change state`)]
      : [];
  return [finding('unrecognised-call', 'caution', `'${name}' is not a known read-only call`)];
}

/** Rules over the whole code: loops, process sweeps and sockets wired to shells. */
export const PY_TEXT_RULES: Rule<string>[] = [
  {
    rule: 'fork-bomb',
    level: 'dangerous',
    reason: 'spawns processes without end',
    match: (t) =>
      /while\s*\(?\s*(?:True|1)\s*\)?\s*:[\s\S]{0,200}?(?:\bfork\s*\(|Process\s*\(|Popen\s*\(|subprocess\.)/.test(
        t,
      ),
  },
  {
    rule: 'mass-process-kill',
    level: 'dangerous',
    reason: 'kills every process it iterates over',
    match: (t) => /process_iter\s*\([\s\S]*?\.(?:kill|terminate)\s*\(/.test(t) && !/\bif\b/.test(t),
  },
  {
    rule: 'shutdown-reboot',
    level: 'dangerous',
    reason: 'shuts down or crashes the machine through a system call',
    match: (t) =>
      /ExitWindowsEx|InitiateSystemShutdown|NtRaiseHardError|NtShutdownSystem|\blibc\.reboot|\bos\.reboot/.test(
        t,
      ),
  },
  {
    rule: 'reverse-shell',
    level: 'dangerous',
    reason: 'connects a shell to a remote socket',
    match: (t) =>
      /socket/.test(t) && /\.connect\s*\(/.test(t) && /os\.dup2|pty\.spawn|\/bin\/(?:ba)?sh|cmd\.exe/.test(t),
  },
];
