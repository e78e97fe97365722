import type { ErrorDetail } from '../../lib/errors.js';

export const assetTypes = ['text', 'integer', 'boolean', 'secret', 'credential'] as const;
export type AssetType = (typeof assetTypes)[number];

export interface Credential {
  username: string;
  password: string;
}

/** What a process receives: the value in the shape of its asset's type. */
export type AssetValue = string | number | boolean | Credential;

export const MAX_TEXT_LENGTH = 32_768;

export function isAssetType(value: string): value is AssetType {
  return (assetTypes as readonly string[]).includes(value);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function textProblem(field: string, value: unknown, allowEmpty: boolean): ErrorDetail[] {
  if (typeof value !== 'string') return [{ field, message: 'must be a string' }];
  if (!allowEmpty && value === '') return [{ field, message: 'must not be empty' }];
  if (value.length > MAX_TEXT_LENGTH) return [{ field, message: `at most ${MAX_TEXT_LENGTH} characters` }];
  return [];
}

/**
 * The problems of a value for an asset of this type, one per field; none when it fits. The
 * messages never quote the value: it may be a secret.
 */
export function valueProblems(type: AssetType, value: unknown): ErrorDetail[] {
  switch (type) {
    case 'text':
      return textProblem('value', value, true);
    case 'secret':
      return textProblem('value', value, false);
    case 'integer':
      return Number.isSafeInteger(value) ? [] : [{ field: 'value', message: 'must be an integer' }];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ field: 'value', message: 'must be true or false' }];
    case 'credential': {
      if (!isObject(value)) return [{ field: 'value', message: 'must be {username, password}' }];
      const extra = Object.keys(value).filter((key) => key !== 'username' && key !== 'password');
      return [
        ...textProblem('value.username', value.username, false),
        ...textProblem('value.password', value.password, false),
        ...extra.map((key) => ({ field: `value.${key}`, message: 'is not a credential field' })),
      ];
    }
  }
}

/** The value as stored (before sealing): JSON, so every type round-trips with its shape. */
export function encodeValue(value: AssetValue): string {
  return JSON.stringify(value);
}

export function decodeValue(text: string): AssetValue {
  return JSON.parse(text) as AssetValue;
}

/** The one part of a value shown on reads: a credential's username (not a secret); nothing else. */
export function visibleUsername(type: AssetType, value: AssetValue): string | null {
  return type === 'credential' && isObject(value) && typeof value.username === 'string'
    ? value.username
    : null;
}
