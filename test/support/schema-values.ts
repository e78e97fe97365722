import { randomUUID } from 'node:crypto';
import type { JsonSchema } from './client.js';

/**
 * Values built from the JSON schemas of the OpenAPI document: a valid-looking sample of a schema,
 * and the slots of a schema where one hostile value can be put while everything around it stays
 * valid, so that a refusal names that slot and nothing else.
 */

/** A real id for a property, by its name (`agent_id`, `script_id`…), when one is known. */
export type IdFor = (property: string | undefined) => string | undefined;

export type SlotKind = 'string' | 'number' | 'boolean' | 'any' | 'key' | 'container';

export interface Slot {
  /** The field as validation errors name it, without the `body` prefix: `tasks.0.name`. */
  field: string;
  kind: SlotKind;
  /** The `x-text` rule of a string slot: `plain` unless the schema says `shell` or `output`. */
  text: string;
  /** The whole value of the schema with `value` in this slot. */
  place(value: unknown): unknown;
}

function types(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type as string[];
  return typeof schema.type === 'string' ? [schema.type] : [];
}

function branches(schema: JsonSchema): JsonSchema[] | undefined {
  const list = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return list?.filter((branch) => !types(branch).includes('null') || types(branch).length > 1);
}

/** Schemas of the values of an object with free keys (a record), if it has free keys. */
function recordValues(schema: JsonSchema): JsonSchema | undefined {
  if (typeof schema.additionalProperties === 'object') return schema.additionalProperties as JsonSchema;
  const patterns = Object.values((schema.patternProperties ?? {}) as Record<string, JsonSchema>);
  return patterns[0];
}

function sampleString(schema: JsonSchema, property: string | undefined, ids: IdFor): string {
  const known = ids(property);
  if (known !== undefined) return known;
  switch (schema.format) {
    case 'uuid':
      return randomUUID();
    case 'email':
      return 'walk@example.test';
    case 'date-time':
      return new Date(Date.now() + 86_400_000).toISOString();
    case 'uri':
      return 'https://example.test/walk';
    default:
      return 'walk'.padEnd(Number(schema.minLength ?? 0), 'k');
  }
}

/** A value the schema accepts (the first branch of a union, required properties only). */
export function sample(schema: JsonSchema, ids: IdFor, property?: string): unknown {
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const union = branches(schema);
  if (union?.[0]) return sample(union[0], ids, property);
  if (Array.isArray(schema.allOf))
    return Object.assign({}, ...(schema.allOf as JsonSchema[]).map((part) => sample(part, ids, property)));
  const type: string = types(schema).find((t) => t !== 'null') ?? 'any';
  switch (type) {
    case 'string':
      return sampleString(schema, property, ids);
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.maximum !== undefined ? Math.min(1, schema.maximum) : 1);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () =>
        sample(schema.items ?? {}, ids, property),
      );
    case 'object': {
      // The required properties, and then the first others until minProperties is met.
      const required = new Set<string>(schema.required ?? []);
      const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
      const optional = properties.filter(([name]) => !required.has(name));
      const wanted = Math.max(0, Number(schema.minProperties ?? 0) - required.size);
      return Object.fromEntries(
        [...properties.filter(([name]) => required.has(name)), ...optional.slice(0, wanted)].map(
          ([name, inner]) => [name, sample(inner, ids, name)],
        ),
      );
    }
    default:
      return 'walk';
  }
}

function nested(outer: string, inner: string): string {
  return inner ? (outer ? `${outer}.${inner}` : inner) : outer;
}

/** Every place of a schema where one hostile value can go, each with the value that holds it. */
export function slots(schema: JsonSchema, ids: IdFor, property?: string): Slot[] {
  const union = branches(schema);
  if (union) return union.flatMap((branch) => slots(branch, ids, property));
  if (Array.isArray(schema.allOf)) {
    const parts = schema.allOf as JsonSchema[];
    return parts.flatMap((part, index) =>
      slots(part, ids, property).map((slot) => ({
        ...slot,
        place: (value: unknown) =>
          Object.assign({}, ...parts.map((p, i) => (i === index ? slot.place(value) : sample(p, ids)))),
      })),
    );
  }
  const here = (kind: SlotKind): Slot => ({
    field: '',
    kind,
    text: (schema['x-text'] as string | undefined) ?? 'plain',
    place: (value) => value,
  });
  if (Array.isArray(schema.enum)) return [here('string')];
  const type: string = types(schema).find((t) => t !== 'null') ?? 'any';
  switch (type) {
    case 'string':
      return [here('string')];
    case 'integer':
    case 'number':
      return [here('number')];
    case 'boolean':
      return [here('boolean')];
    case 'array': {
      const length = Math.max(1, Number(schema.minItems ?? 0));
      const items = (schema.items ?? {}) as JsonSchema;
      return [
        here('container'),
        ...slots(items, ids, property).map((slot) => ({
          ...slot,
          field: nested('0', slot.field),
          place: (value: unknown) => [
            slot.place(value),
            ...Array.from({ length: length - 1 }, () => sample(items, ids, property)),
          ],
        })),
      ];
    }
    case 'object':
      return objectSlots(schema, ids);
    default:
      return [here('any')];
  }
}

function objectSlots(schema: JsonSchema, ids: IdFor): Slot[] {
  const base = sample(schema, ids) as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const result: Slot[] = [{ field: '', kind: 'container', text: 'plain', place: (value) => value }];
  for (const [name, inner] of Object.entries(properties)) {
    for (const slot of slots(inner, ids, name))
      result.push({
        ...slot,
        field: nested(name, slot.field),
        place: (v) => ({ ...base, [name]: slot.place(v) }),
      });
  }
  const values = recordValues(schema);
  if (values) {
    for (const slot of slots(values, ids))
      result.push({
        ...slot,
        field: nested('walk', slot.field),
        place: (v) => ({ ...base, walk: slot.place(v) }),
      });
    result.push({
      field: '',
      kind: 'key',
      text: 'plain',
      place: (key) => ({ ...base, [String(key)]: sample(values, ids) }),
    });
  }
  return result;
}
