/**
 * Python: the code scanned (python.tokenize.ts: import aliases resolved, as in `import shutil as
 * sh`, `from os import system`, `__import__('os')`, `getattr(os, 'system')`; simple string values
 * evaluated: literals, concatenation, `os.path.join`, `Path.home()`, variables holding them), and
 * each call checked by the rules of rules.python.ts; shell-outs go to the bash and cmd analyzers.
 */
import {
  collectImports,
  collectValues,
  dealias,
  qualify,
  readDotted,
  splitArgs,
  tokenizePython,
  type PyToken,
  type Scope,
} from './python.tokenize.js';
import { applyRules, finding } from './rule.js';
import { callFindings, PY_TEXT_RULES, type PyCall } from './rules.python.js';
import type { Nesting, SafetyFinding } from './verdict.js';

/** Every call in the code, with its qualified name and its arguments; `Path(x).unlink()` becomes `pathlib.Path.unlink`. */
function collectCalls(tokens: PyToken[], scope: Scope): PyCall[] {
  const calls: PyCall[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i] as PyToken;
    if (t.type !== 'name' || tokens[i - 1]?.value === '.' || tokens[i - 1]?.value === 'def') continue;
    const dotted = readDotted(tokens, i);
    if (tokens[dotted.next]?.value !== '(') continue;
    const { args, close } = splitArgs(tokens, dotted.next);
    const name = qualify(dotted.name, scope);
    const call: PyCall = { name, args, scope, receiver: null, bare: !dotted.name.includes('.') };
    calls.push(call);
    // A method on the call's result: Path('/etc').unlink(), open(p, 'w').write(...)
    if (tokens[close + 1]?.value === '.' && tokens[close + 3]?.value === '(') {
      const method = tokens[close + 2]?.value ?? '';
      const inner = splitArgs(tokens, close + 3);
      calls.push({ name: `${name}.${method}`, args: inner.args, scope, receiver: call, bare: false });
    }
  }
  return calls;
}

export function analyzePython(text: string, nest: Nesting): SafetyFinding[] {
  const code = dealias(text);
  const findings: SafetyFinding[] = applyRules(PY_TEXT_RULES, code);
  const tokens = tokenizePython(code);
  const scope: Scope = { aliases: new Map(), starModules: [], values: new Map(), defined: new Set() };
  collectImports(tokens, scope);
  collectValues(tokens, scope);
  for (const call of collectCalls(tokens, scope)) findings.push(...callFindings(call, nest));
  if (/^\s*(?:python[0-9.]*|pip[0-9]*)\s/.test(text))
    findings.push(finding('shell-syntax', 'caution', 'this looks like a shell command, not Python code'));
  return findings;
}
