import { describe, expect, it } from 'vitest';
import type { AppError } from '../../src/server/lib/errors.js';
import { InputValidator } from '../../src/server/modules/processes/processes.input.js';

/** What the validator refuses, as the fields of its details. */
function refusedFields(schema: Record<string, unknown>, input: unknown): string[] {
  try {
    new InputValidator().check('key', schema, input, 'input');
    return [];
  } catch (error) {
    return (error as AppError).details.map((d) => d.field ?? '');
  }
}

describe('processes: input checked against an entry point schema', () => {
  it('processes: each refused value is named by its JSON pointer, escaped, nested, missing or extra', () => {
    const schema = {
      type: 'object',
      properties: {
        'a/b': { type: 'integer' },
        'c~d': { type: 'string' },
        nested: {
          type: 'object',
          properties: { items: { type: 'array', items: { type: 'integer', minimum: 0 } } },
          required: ['items'],
        },
      },
      required: ['must'],
      additionalProperties: { type: 'string' },
    };
    expect(
      refusedFields(schema, { 'a/b': 'x', 'c~d': 1, nested: { items: [1, -1] }, extra: 2 }).sort(),
    ).toEqual(['input/a~1b', 'input/c~0d', 'input/extra', 'input/must', 'input/nested/items/1']);
    expect(refusedFields(schema, { must: 'here', nested: { items: [] } })).toEqual([]);
  });

  it('processes: a field refused for several reasons is one detail; input that is not an object is named by its root', () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 5, multipleOf: 2 } } };
    expect(refusedFields(schema, { n: 3 })).toEqual(['input/n']);
    expect(refusedFields(schema, [1])).toEqual(['input']);
  });

  it('processes: a schema that does not compile is refused, not thrown as a fault', () => {
    let caught: unknown;
    try {
      new InputValidator().check(
        'bad',
        { type: 'object', properties: { a: { $ref: '#/nowhere' } } },
        {},
        'input',
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'unprocessable', details: [{ field: 'entry_point' }] });
  });
});
