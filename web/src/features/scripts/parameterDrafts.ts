import type { ParameterDefinition, ParameterType, ParameterValue } from './queries';

/** A parameter row as edited: every input a string, and a key that survives a reorder. */
export interface ParameterDraft {
  key: string;
  name: string;
  type: ParameterType;
  required: boolean;
  /** As typed; '' is no default. A boolean's is 'true' or 'false'. */
  defaultText: string;
  values: string[];
  description: string;
}

let nextKey = 0;
const newKey = () => `parameter-${(nextKey += 1)}`;

export function emptyDraft(): ParameterDraft {
  return {
    key: newKey(),
    name: '',
    type: 'string',
    required: false,
    defaultText: '',
    values: [],
    description: '',
  };
}

export function draftOf(definition: ParameterDefinition): ParameterDraft {
  return {
    key: newKey(),
    name: definition.name,
    type: definition.type,
    required: definition.required ?? false,
    defaultText: definition.default === undefined ? '' : String(definition.default),
    values: definition.values ?? [],
    description: definition.description ?? '',
  };
}

/**
 * A typed value from what was typed: the server checks it against the type (422 naming the
 * field), so a number that does not parse is sent as text for it to refuse.
 */
export function valueOf(type: ParameterType, text: string): ParameterValue {
  if (type === 'boolean') return text === 'true';
  if (type === 'number' && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  return text;
}

export function definitionOf(draft: ParameterDraft): ParameterDefinition {
  const definition: ParameterDefinition = { name: draft.name.trim(), type: draft.type };
  if (draft.description.trim()) definition.description = draft.description.trim();
  if (draft.required) definition.required = true;
  if (draft.type === 'enum') definition.values = draft.values;
  // a secret has no default: the server would store it in plain sight
  if (draft.defaultText !== '' && draft.type !== 'secret')
    definition.default = valueOf(draft.type, draft.defaultText);
  return definition;
}

export function moveItem<T>(items: readonly T[], from: number, to: number): T[] {
  const moved = [...items];
  const [item] = moved.splice(from, 1);
  if (item !== undefined) moved.splice(to, 0, item);
  return moved;
}
