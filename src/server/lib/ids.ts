import { v7 as uuidv7, validate } from 'uuid';

/** Time-ordered ids: lexical order is creation order, which keyset pagination relies on. */
export function newId(): string {
  return uuidv7();
}

export function isId(value: string): boolean {
  return validate(value);
}
