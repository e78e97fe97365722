/**
 * Python as the analyzer reads it: a token scanner (strings, names, operators), the module aliases and
 * string values a piece of code defines, and the dotted names of what it calls.
 */
export interface PyToken {
  type: 'name' | 'string' | 'num' | 'op';
  value: string;
}

/** Bounds that keep pathological input linear: string values are short, argument lists are read this far. */
const MAX_VALUE_TOKENS = 64;
const MAX_ARG_TOKENS = 2000;

const TOKEN =
  /(#[^\n]*)|([rRbBuUfF]{0,2})('''[\s\S]*?'''|"""[\s\S]*?"""|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|([A-Za-z_]\w*)|(\d[\w.]*)|(\n|\*\*|\/\/|==|!=|<=|>=|->|:=|[^\s\w])/g;

function unescape(body: string, raw: boolean): string {
  if (raw) return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (/^[xu]/.test(e)) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return (
      ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? `\\${e}`
    );
  });
}

export function tokenizePython(text: string): PyToken[] {
  const tokens: PyToken[] = [];
  for (const m of text.matchAll(TOKEN)) {
    if (m[1] !== undefined) continue;
    if (m[3] !== undefined) {
      const quote = m[3].startsWith("'''") || m[3].startsWith('"""') ? 3 : 1;
      tokens.push({ type: 'string', value: unescape(m[3].slice(quote, -quote), /r/i.test(m[2] ?? '')) });
    } else if (m[4] !== undefined) tokens.push({ type: 'name', value: m[4] });
    else if (m[5] !== undefined) tokens.push({ type: 'num', value: m[5] });
    else if (m[6] !== undefined) tokens.push({ type: 'op', value: m[6] });
  }
  return tokens;
}

/** Dynamic imports and attribute lookups rewritten to the plain names they stand for. */
export function dealias(text: string): string {
  return text
    .replace(/(?:__import__|importlib\s*\.\s*import_module)\(\s*['"]([\w.]+)['"]\s*\)/g, '$1')
    .replace(/getattr\(\s*([\w.]+)\s*,\s*['"](\w+)['"]\s*\)/g, '$1.$2');
}

export interface Scope {
  aliases: Map<string, string>;
  starModules: string[];
  values: Map<string, string>;
  defined: Set<string>;
}

export function collectImports(tokens: PyToken[], scope: Scope): void {
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i] as PyToken;
    if (t.type !== 'name') continue;
    if (t.value === 'import' && tokens[i - 2]?.value !== 'from') {
      let j = i + 1;
      for (;;) {
        const dotted = readDotted(tokens, j);
        if (!dotted.name) break;
        j = dotted.next;
        if (tokens[j]?.value === 'as') {
          scope.aliases.set(tokens[j + 1]?.value ?? '', dotted.name);
          j += 2;
        } else scope.aliases.set(dotted.name.split('.')[0] ?? '', dotted.name.split('.')[0] ?? '');
        if (tokens[j]?.value !== ',') break;
        j += 1;
      }
    } else if (t.value === 'from') {
      const module = readDotted(tokens, i + 1);
      let j = module.next + 1;
      if (tokens[j]?.value === '(') j += 1;
      if (tokens[j]?.value === '*') scope.starModules.push(module.name);
      while (tokens[j]?.type === 'name') {
        const name = tokens[j]?.value ?? '';
        const alias = tokens[j + 1]?.value === 'as' ? (tokens[j + 2]?.value ?? name) : name;
        scope.aliases.set(alias, `${module.name}.${name}`);
        j += tokens[j + 1]?.value === 'as' ? 3 : 1;
        if (tokens[j]?.value !== ',') break;
        j += 1;
      }
    } else if ((t.value === 'def' || t.value === 'class') && tokens[i + 1])
      scope.defined.add(tokens[i + 1]?.value ?? '');
  }
}

export function readDotted(tokens: PyToken[], start: number): { name: string; next: number } {
  const parts: string[] = [];
  let i = start;
  while (tokens[i]?.type === 'name') {
    parts.push(tokens[i]?.value ?? '');
    if (tokens[i + 1]?.value !== '.' || tokens[i + 2]?.type !== 'name')
      return { name: parts.join('.'), next: i + 1 };
    i += 2;
  }
  return { name: parts.join('.'), next: i };
}

/** Splits the tokens between a call's parentheses into top-level arguments. */
export function splitArgs(tokens: PyToken[], open: number): { args: PyToken[][]; close: number } {
  const args: PyToken[][] = [[]];
  let depth = 0;
  for (let i = open + 1; i < tokens.length && i < open + MAX_ARG_TOKENS; i += 1) {
    const v = tokens[i]?.value ?? '';
    if (tokens[i]?.type === 'op' && /^[([{]$/.test(v)) depth += 1;
    if (tokens[i]?.type === 'op' && /^[)\]}]$/.test(v)) {
      if (depth === 0) return { args: args.filter((a) => a.length), close: i };
      depth -= 1;
    }
    if (depth === 0 && v === ',' && tokens[i]?.type === 'op') args.push([]);
    else if (v !== '\n') args[args.length - 1]?.push(tokens[i] as PyToken);
  }
  return { args: args.filter((a) => a.length), close: Math.min(tokens.length, open + MAX_ARG_TOKENS) };
}

export function qualify(name: string, scope: Scope): string {
  const [head, ...rest] = name.split('.');
  const base = scope.aliases.get(head ?? '');
  if (base) return [base, ...rest].join('.');
  // `from os import *` then `system(...)`: the first star module is the best guess.
  const star = scope.starModules[0];
  return star && rest.length === 0 && !scope.defined.has(name) && !PY_BUILTINS.has(name)
    ? `${star}.${name}`
    : name;
}

const HOME =
  /^(?:os\.path\.expanduser\(|pathlib\.Path\.home\(|Path\.home\(|os\.environ\[|os\.environ\.get\(|os\.getenv\()/;

/** The string an argument evaluates to, when it is built from literals only. */
export function stringValue(tokens: PyToken[], scope: Scope): string | null {
  if (tokens.length > MAX_VALUE_TOKENS) return null;
  const text = tokens.map((t) => (t.type === 'string' ? JSON.stringify(t.value) : t.value)).join('');
  if (HOME.test(text.replace(/^pathlib\./, ''))) {
    const inner = /\(\s*"([^"]*)"/.exec(text)?.[1] ?? '~';
    return inner === 'HOME' || inner === 'USERPROFILE' ? '~' : inner;
  }
  const join =
    /^(?:os\.path\.join|pathlib\.Path|Path|str|os\.path\.abspath|os\.path\.normpath)\((.*)\)$/.exec(text);
  if (join) {
    const inner = tokens.slice(tokens.findIndex((t) => t.value === '(') + 1, -1);
    const parts = splitArgs([{ type: 'op', value: '(' }, ...inner, { type: 'op', value: ')' }], 0).args.map(
      (a) => stringValue(a, scope),
    );
    return parts.every((p) => p !== null) ? parts.join('/').replace(/\/+/g, '/') : null;
  }
  if (tokens.length === 1 && tokens[0]?.type === 'name') return scope.values.get(tokens[0].value) ?? null;
  const pieces = tokens.filter((t) => !(t.type === 'op' && (t.value === '+' || t.value === '/')));
  if (
    pieces.length &&
    pieces.every((t) => t.type === 'string' || (t.type === 'name' && scope.values.has(t.value)))
  ) {
    const sep = tokens.some((t) => t.value === '/') ? '/' : '';
    return pieces.map((t) => (t.type === 'string' ? t.value : (scope.values.get(t.value) ?? ''))).join(sep);
  }
  if (tokens[0]?.value === '[' && tokens.at(-1)?.value === ']') {
    const items = splitArgs(
      [{ type: 'op', value: '(' }, ...tokens.slice(1, -1), { type: 'op', value: ')' }],
      0,
    ).args.map((a) => stringValue(a, scope));
    return items.every((v) => v !== null)
      ? items.map((v) => (/\s/.test(v ?? '') ? `'${v ?? ''}'` : v)).join(' ')
      : null;
  }
  return null;
}

/** `name = <expression>` up to the end of the statement: string values and module aliases are remembered. */
export function collectValues(tokens: PyToken[], scope: Scope): void {
  for (let i = 0; i + 2 < tokens.length; i += 1) {
    if (tokens[i]?.type !== 'name' || tokens[i + 1]?.value !== '=' || tokens[i - 1]?.value === '.') continue;
    let end = i + 2;
    // Values worth remembering are short; the bound keeps `a = b = c = ...` chains linear.
    for (let depth = 0; end < tokens.length && end < i + MAX_VALUE_TOKENS; end += 1) {
      const v = tokens[end]?.value ?? '';
      if (/^[([{]$/.test(v)) depth += 1;
      else if (/^[)\]}]$/.test(v)) depth -= 1;
      else if (depth <= 0 && (v === '\n' || v === ';')) break;
    }
    const name = tokens[i]?.value ?? '';
    const rhs = tokens.slice(i + 2, end).filter((t) => t.value !== '\n');
    scope.defined.add(name);
    const value = stringValue(rhs, scope);
    if (value !== null) scope.values.set(name, value);
    const dotted = rhs.map((t) => t.value).join('');
    if (/^[\w.]+$/.test(dotted) && scope.aliases.has(dotted.split('.')[0] ?? ''))
      scope.aliases.set(name, qualify(dotted, scope));
  }
}

export const PY_BUILTINS = new Set(
  (
    'print len str int float bool list dict set tuple sorted reversed range enumerate zip min max sum abs round any all ' +
    'map filter isinstance issubclass type repr format hex oct bin ord chr divmod iter next hasattr id hash input ' +
    'frozenset bytes bytearray super object staticmethod classmethod property vars dir callable slice pow ascii ' +
    'Exception ValueError KeyError OSError RuntimeError TypeError PermissionError FileNotFoundError SystemExit exit'
  ).split(' '),
);
