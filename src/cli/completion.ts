import { UsageError, defineCommand, oneArgument, type ClientCommand, type Options } from './command.js';

/** A command as completion sees it: its words and its flags. */
export interface CompletionEntry {
  words: readonly string[];
  options: Options;
}

interface Arm {
  /** The words typed so far that select this arm. */
  typed: string;
  /** A leaf also matches with flag values typed after its words. */
  leaf: boolean;
  candidates: string[];
}

/**
 * One case arm per command (its flags, whatever values follow them) and per group of commands
 * (its next words). Leaves come first: `agents ls --tag web` must still complete `agents ls`.
 */
function arms(entries: readonly CompletionEntry[]): Arm[] {
  const groups = new Map<string, Set<string>>();
  const leaves: Arm[] = [];
  for (const { words, options } of entries) {
    for (let i = 0; i < words.length; i += 1) {
      const typed = words.slice(0, i).join(' ');
      const next = groups.get(typed) ?? new Set<string>();
      next.add(words[i] ?? '');
      groups.set(typed, next);
    }
    leaves.push({
      typed: words.join(' '),
      leaf: true,
      candidates: [...Object.keys(options).map((name) => `--${name}`), '--help'],
    });
  }
  const groupArms = [...groups].map(([typed, next]) => ({ typed, leaf: false, candidates: [...next] }));
  return [...leaves, ...groupArms.sort((a, b) => b.typed.length - a.typed.length)];
}

function pattern(arm: Arm): string {
  return arm.leaf ? `"${arm.typed}"|"${arm.typed} "*` : `"${arm.typed}"`;
}

function bashCompletion(entries: readonly CompletionEntry[]): string {
  const cases = arms(entries)
    .map((arm) => `    ${pattern(arm)}) candidates="${arm.candidates.join(' ')}" ;;`)
    .join('\n');
  return `# fleetplane completion for bash: source <(fleetplane completion bash)
_fleetplane() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" typed="" candidates="" i
  # the command's words typed so far; after -- comes the remote command, which is not ours
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --) return 0 ;;
      -*) ;;
      *) typed="\${typed:+$typed }\${COMP_WORDS[i]}" ;;
    esac
  done
  case "$typed" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -F _fleetplane fleetplane
`;
}

function zshCompletion(entries: readonly CompletionEntry[]): string {
  const cases = arms(entries)
    .map((arm) => `    (${pattern(arm)}) candidates=(${arm.candidates.join(' ')}) ;;`)
    .join('\n');
  return `#compdef fleetplane
# fleetplane completion for zsh: source <(fleetplane completion zsh), after compinit
_fleetplane() {
  local -a candidates
  local typed="" word
  for word in "\${(@)words[2,CURRENT-1]}"; do
    case "$word" in
      (--) return 0 ;;
      (-*) ;;
      (*) typed="\${typed:+$typed }$word" ;;
    esac
  done
  case "$typed" in
${cases}
  esac
  compadd -- "\${(@)candidates}"
}
compdef _fleetplane fleetplane
`;
}

/** `completion bash|zsh`, completing the commands `entries` lists (read when it runs). */
export function completionCommand(entries: () => readonly CompletionEntry[]): ClientCommand {
  return defineCommand({
    words: ['completion'],
    synopsis: 'bash|zsh',
    summary: 'print a shell completion script: source <(fleetplane completion bash)',
    options: {},
    async run({ positionals }, ctx) {
      const shell = oneArgument(positionals, 'a shell (bash or zsh)');
      if (shell === 'bash') ctx.terminal.write('stdout', bashCompletion(entries()));
      else if (shell === 'zsh') ctx.terminal.write('stdout', zshCompletion(entries()));
      else throw new UsageError(`no completion for "${shell}": bash or zsh`);
      return 0;
    },
  });
}
