/**
 * PowerShell: tokenize, resolve aliases (`rm`, `ri`, `iex`, `iwr`, `saps`, `spps`, ...) and module
 * qualifiers, follow assignments, call operators, script blocks and nested shells, then apply the
 * cmdlet rules, the native-executable rules shared with cmd, and the text rules.
 */
import { tokenizePowerShell, type PsCommandTokens, type PsToken } from './powershell.tokenize.js';
import { applyRules, finding, unrecognised } from './rule.js';
import {
  isPsReadOnly,
  PS_PIPELINE_RULES,
  PS_RULES,
  PS_TEXT_RULES,
  paramValue,
  positionals,
  type PsCommand,
} from './rules.powershell.js';
import { isWindowsReadOnly, WINDOWS_NATIVE_RULES } from './rules.windows.js';
import type { Nesting, SafetyFinding } from './verdict.js';

const ALIASES: Record<string, string> = {
  rm: 'remove-item',
  del: 'remove-item',
  erase: 'remove-item',
  rd: 'remove-item',
  rmdir: 'remove-item',
  ri: 'remove-item',
  iex: 'invoke-expression',
  iwr: 'invoke-webrequest',
  curl: 'invoke-webrequest',
  wget: 'invoke-webrequest',
  irm: 'invoke-restmethod',
  saps: 'start-process',
  start: 'start-process',
  spps: 'stop-process',
  kill: 'stop-process',
  gps: 'get-process',
  ps: 'get-process',
  gsv: 'get-service',
  spsv: 'stop-service',
  sasv: 'start-service',
  ls: 'get-childitem',
  dir: 'get-childitem',
  gci: 'get-childitem',
  cat: 'get-content',
  gc: 'get-content',
  type: 'get-content',
  ac: 'add-content',
  echo: 'write-output',
  write: 'write-output',
  cd: 'set-location',
  sl: 'set-location',
  chdir: 'set-location',
  pwd: 'get-location',
  gl: 'get-location',
  cp: 'copy-item',
  copy: 'copy-item',
  cpi: 'copy-item',
  mv: 'move-item',
  move: 'move-item',
  mi: 'move-item',
  ni: 'new-item',
  mkdir: 'new-item',
  md: 'new-item',
  icm: 'invoke-command',
  gwmi: 'get-wmiobject',
  iwmi: 'invoke-wmimethod',
  rwmi: 'remove-wmiobject',
  gcim: 'get-ciminstance',
  rcim: 'remove-ciminstance',
  ft: 'format-table',
  fl: 'format-list',
  select: 'select-object',
  where: 'where-object',
  '?': 'where-object',
  '%': 'foreach-object',
  foreach: 'foreach-object',
  sort: 'sort-object',
  measure: 'measure-object',
  gm: 'get-member',
  h: 'get-history',
  history: 'get-history',
  ghy: 'get-history',
  clhy: 'clear-history',
  rp: 'remove-itemproperty',
  sp: 'set-itemproperty',
  gp: 'get-itemproperty',
  cls: 'clear-host',
  clear: 'clear-host',
  gal: 'get-alias',
  gcm: 'get-command',
  gi: 'get-item',
  ii: 'invoke-item',
  rni: 'rename-item',
  ren: 'rename-item',
  sleep: 'start-sleep',
  tee: 'tee-object',
  ogv: 'out-gridview',
  sajb: 'start-job',
  rjb: 'remove-job',
  clc: 'clear-content',
  cli: 'clear-item',
  epal: 'export-alias',
  nal: 'new-alias',
  sal: 'set-alias',
  sv: 'set-variable',
  rv: 'remove-variable',
  gv: 'get-variable',
};

const NESTED_SHELLS = new Set(['powershell', 'pwsh']);
/** Language keywords: their conditions and blocks are analyzed as groups. */
const KEYWORDS = new Set(
  'if elseif else foreach while do for switch try catch finally function filter param begin process end return break continue exit throw trap until data'.split(
    ' ',
  ),
);

/** `Microsoft.PowerShell.Management\Remove-Item`, `C:\Windows\System32\reg.exe`, `RI` → canonical name. */
export function psName(raw: string): string {
  const last = (raw.split(/[\\/]/).pop() ?? raw).toLowerCase().replace(/\.(?:exe|com)$/, '');
  return ALIASES[last] ?? last;
}

/** `('Remove'+'-Item')` and `"Remove-Item"` as a call target: only literal concatenation is resolved. */
function literalName(token: PsToken): string | null {
  if (token.kind !== 'group') return token.value;
  const inner = token.value.replace(/^[$@]?\(|\)$/g, '');
  if (!/^\s*(?:(['"])[^'"]*\1\s*\+\s*)*(['"])[^'"]*\2\s*$/.test(inner)) return null;
  return inner.replace(/['"\s+]/g, '');
}

const OBFUSCATION =
  /\b(?:gcm|get-command|gal|get-alias)\b[^)]*\*|\[char\]|-join|-f\s|-replace|-split|-bxor|\[string\]::join|reverse|frombase64string|gzipstream|deflatestream|\$env:comspec\[|\$pshome\[|\$shellid\[|\$verbosepreference/i;

function expressionFindings(first: PsToken, rest: PsToken[], nest: Nesting): SafetyFinding[] | null {
  const raw = first.value;
  const glued = /^(\$[\w:{}]+)=(.+)$/.exec(raw);
  if (glued) return commandFindings([{ value: glued[2] ?? '', kind: 'word' }, ...rest], [], nest);
  if (first.kind === 'string' && rest.length === 0) return [];
  if (first.kind === 'group' || /^[$[0-9@]/.test(raw) || first.kind === 'string') {
    const text = [raw, ...rest.map((t) => t.value)].join(' ');
    if (
      /(?:::|\.)[a-z_]\w*\s*\(/i.test(text) &&
      !/^\(?\s*(?:get-|\$psversiontable|\[math\]|\[datetime\])/i.test(text)
    ) {
      return [finding('method-call', 'caution', 'calls a .NET method whose effect is not known')];
    }
    return [];
  }
  return null;
}

/** Leading `$a = $b = ` assignments: the command is what they are assigned from. */
function assignedFrom(tokens: PsToken[]): PsToken[] {
  let at = 0;
  while (/^\$[\w:{}.[\]]+$/.test(tokens[at]?.value ?? '') && /^[-+*/]?=$/.test(tokens[at + 1]?.value ?? ''))
    at += 2;
  return at ? tokens.slice(at) : tokens;
}

function commandFindings(
  tokens: PsToken[],
  redirects: PsCommandTokens['redirects'],
  nest: Nesting,
): SafetyFinding[] {
  let [first, ...rest] = assignedFrom(tokens);
  if (!first) return [];
  const expression = expressionFindings(first, rest, nest);
  if (expression) return expression;
  const findings: SafetyFinding[] = [];
  if ((first.value === '&' || first.value === '.') && rest[0]) {
    const target = rest[0];
    const name = literalName(target);
    if (name === null || /^\$/.test(name)) {
      const obfuscated = OBFUSCATION.test(target.value);
      findings.push(
        obfuscated
          ? finding('obfuscated-command', 'dangerous', 'invokes a command whose name is built by obfuscation')
          : finding('dynamic-command', 'caution', 'invokes a command whose name is computed at run time'),
      );
      return findings;
    }
    first = { value: name, kind: 'word' };
    rest = rest.slice(1);
  }
  const name = psName(first.value);
  if (KEYWORDS.has(first.value.toLowerCase())) return findings;
  const command: PsCommand = { name, args: rest.map((t) => t.value), tokens: rest, redirects, wrappers: [] };
  const lowered = { ...command, args: command.args.map((a) => a.toLowerCase()) };
  findings.push(...applyRules(PS_RULES, command), ...applyRules(WINDOWS_NATIVE_RULES, lowered));
  const inner = nestedFindings(command, nest);
  if (inner) findings.push(...inner);
  else if (findings.length === 0 && !isPsReadOnly(command) && !isWindowsReadOnly(lowered))
    findings.push(unrecognised(name));
  return findings;
}

function nestedFindings(command: PsCommand, nest: Nesting): SafetyFinding[] | null {
  if (NESTED_SHELLS.has(command.name)) return analyzePowerShellInvocation(command.args, nest.deeper());
  if (command.name === 'cmd') return nest.inner(`cmd ${command.args.join(' ')}`, 'cmd');
  if (command.name === 'bash' || command.name === 'sh' || command.name === 'wsl') {
    return nest.inner(`bash ${command.args.join(' ')}`.replace(/^bash -e(?:xec)? /, 'bash -c '), 'bash');
  }
  if (command.name === 'start-process') {
    const file =
      paramValue(command, 'filepath') ??
      positionals(command, ['filepath', 'argumentlist', 'verb', 'workingdirectory'])[0];
    const args =
      paramValue(command, 'argumentlist') ??
      positionals(command, ['filepath', 'argumentlist', 'verb', 'workingdirectory'])[1] ??
      '';
    if (!file) return null;
    const inner = nest.inner(`& '${file}' ${args}`, 'powershell');
    return [finding('process-start', 'caution', `starts ${file}`), ...inner];
  }
  return null;
}

/** Flags of powershell.exe / pwsh: `-enc`, `-c`, `/c`, `–Command` (dash look-alikes included). */
function invocationFlag(arg: string): string | null {
  const match = /^[-/\u2013\u2014\u2015]([a-z]+)(?::.*)?$/i.exec(arg);
  if (!match) return null;
  const flag = (match[1] ?? '').toLowerCase();
  if (flag === 'ec' || ('encodedcommand'.startsWith(flag) && flag !== 'en' && flag.length >= 1))
    return 'encodedcommand';
  if ('command'.startsWith(flag)) return 'command';
  if ('file'.startsWith(flag)) return 'file';
  if (flag === 'ep' || ('executionpolicy'.startsWith(flag) && flag.length >= 2)) return 'executionpolicy';
  if ('windowstyle'.startsWith(flag)) return 'windowstyle';
  if (
    ['version', 'inputformat', 'outputformat', 'configurationname', 'workingdirectory', 'settingsfile'].some(
      (f) => f.startsWith(flag) && flag.length >= 2,
    )
  )
    return 'valued';
  return 'switch';
}

/** The arguments of a powershell.exe or pwsh call, from any shell. */
export function analyzePowerShellInvocation(args: string[], nest: Nesting): SafetyFinding[] {
  const findings: SafetyFinding[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const flag = invocationFlag(arg);
    const value = args[i + 1] ?? '';
    if (flag === 'encodedcommand') {
      findings.push(
        finding('encoded-command', 'dangerous', 'runs a base64-encoded command that hides its intent'),
      );
      const decoded = Buffer.from(value, 'base64').toString('utf16le');
      if (/^[\x20-\x7e\s]+$/.test(decoded)) findings.push(...nest.inner(decoded, 'powershell'));
      return findings;
    }
    if (flag === 'command' || flag === null) {
      const script = (flag === null ? args.slice(i) : args.slice(i + 1)).join(' ');
      return [...findings, ...nest.inner(script, 'powershell')];
    }
    if (flag === 'file')
      return [...findings, finding('script-execution', 'caution', `runs the script ${value}`)];
    if (flag === 'executionpolicy' && /bypass|unrestricted/i.test(value)) {
      findings.push(finding('execution-policy-bypass', 'caution', 'bypasses the script execution policy'));
    }
    if (flag === 'windowstyle' && /hidden/i.test(value))
      findings.push(finding('hidden-window', 'caution', 'runs in a hidden window'));
    if (flag !== 'switch') i += 1;
  }
  return findings.length
    ? findings
    : [finding('interactive-shell', 'caution', 'opens an interactive PowerShell')];
}

export function analyzePowerShell(text: string, nest: Nesting): SafetyFinding[] {
  const findings: SafetyFinding[] = applyRules(PS_TEXT_RULES, normalizePsText(text));
  const parse = tokenizePowerShell(text);
  if (parse.unterminated)
    findings.push(finding('unterminated-syntax', 'caution', 'an open quote, group or block'));
  for (const statement of parse.statements) {
    const stages = statement.commands.map((c) => {
      const [first, ...rest] = c.tokens;
      const name = first ? psName(first.value) : '';
      return { name, args: rest.map((t) => t.value), tokens: rest, redirects: c.redirects, wrappers: [] };
    });
    findings.push(...applyRules(PS_PIPELINE_RULES, stages));
    for (const command of statement.commands)
      findings.push(...commandFindings(command.tokens, command.redirects, nest));
  }
  for (const group of parse.groups) findings.push(...nest.inner(group, 'powershell'));
  return findings;
}

/** Lower case, backticks gone, literal concatenations joined: `'Down'+'loadString'` reads `downloadstring`. */
export function normalizePsText(text: string): string {
  return text
    .toLowerCase()
    .replace(/`(?!\n)/g, '')
    .replace(/(['"])\s*\+\s*\1/g, '')
    .replace(/\s+/g, ' ');
}
