import { Ajv, type Options, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { storableOutput, TEXT_KEYWORD, textProblem, type TextRule } from '../../protocol/text.js';

/** PostgreSQL `integer` columns hold 32 bits: an integer schema that says no more gets this range. */
const INT32 = { minimum: -2_147_483_648, maximum: 2_147_483_647 };

type Schema = Record<string, unknown>;

/** Internal: set by withEdgeRules on `output` text, never written in a route's schema. */
const STORABLE_KEYWORD = 'x-fleetplane-storable';

const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items'];
const SUBSCHEMAS = [
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
];
/** Keywords that constrain a value: a schema with none of them accepts any JSON value. */
const CONSTRAINING = [
  'type',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  '$ref',
  'const',
  'enum',
  'properties',
  'items',
];

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function typesOf(schema: Schema): unknown[] {
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/**
 * A copy of a request schema with the edge's rules made explicit, so that every route gets them
 * without asking: every string (and every value of unknown shape) follows its `x-text` rule,
 * `plain` unless it says otherwise; the keys of a record follow `plain`; an integer without
 * bounds stays within 32 bits. The route's own schema, which /openapi.json shows, is untouched.
 */
export function withEdgeRules(schema: unknown): unknown {
  if (!isSchema(schema)) return schema;
  const copy: Schema = { ...schema };
  for (const key of SUBSCHEMA_MAPS)
    if (isSchema(copy[key]))
      copy[key] = Object.fromEntries(Object.entries(copy[key]).map(([k, v]) => [k, withEdgeRules(v)]));
  for (const key of SUBSCHEMA_LISTS) {
    const list = copy[key];
    if (Array.isArray(list)) copy[key] = list.map(withEdgeRules);
  }
  for (const key of SUBSCHEMAS) if (isSchema(copy[key])) copy[key] = withEdgeRules(copy[key]);

  const types = typesOf(copy);
  const untyped = !CONSTRAINING.some((key) => key in copy);
  if ((types.includes('string') || untyped) && copy[TEXT_KEYWORD] === undefined) copy[TEXT_KEYWORD] = 'plain';
  if (copy[TEXT_KEYWORD] === 'output') copy[STORABLE_KEYWORD] = true;
  if (
    isSchema(copy.patternProperties) ||
    isSchema(copy.additionalProperties) ||
    copy.additionalProperties === true
  ) {
    const keys = { [TEXT_KEYWORD]: 'plain' };
    copy.propertyNames = isSchema(copy.propertyNames) ? { allOf: [copy.propertyNames, keys] } : keys;
  }
  if (types.includes('integer')) {
    if (copy.minimum === undefined && copy.exclusiveMinimum === undefined) copy.minimum = INT32.minimum;
    if (copy.maximum === undefined && copy.exclusiveMaximum === undefined) copy.maximum = INT32.maximum;
  }
  return copy;
}

/** The first text in a value (its keys included) that breaks the rule, and why. */
function firstProblem(rule: TextRule, value: unknown): string | undefined {
  const pending: unknown[] = [value];
  // A loop, not recursion: a deeply nested body must not overflow the stack.
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      const problem = textProblem(rule, next);
      if (problem) return problem;
    } else if (Array.isArray(next)) pending.push(...(next as unknown[]));
    else if (isSchema(next)) for (const [key, inner] of Object.entries(next)) pending.push(key, inner);
  }
  return undefined;
}

/** The `x-text` keyword: refuses text that breaks its rule (`output` refuses nothing). */
const checkText: SchemaValidateFunction = (rule: TextRule, data: unknown) => {
  const problem = rule === 'output' ? undefined : firstProblem(rule, data);
  checkText.errors = problem ? [{ keyword: TEXT_KEYWORD, message: problem, params: { rule } }] : [];
  return problem === undefined;
};

/**
 * Cleans `output` text in place rather than refusing it: an agent cannot take back what a program
 * printed. A keyword of its own because AJV can only modify data outside `propertyNames`.
 */
const makeStorable: SchemaValidateFunction = (_enabled: boolean, data: unknown, _schema, context) => {
  if (typeof data === 'string' && context?.parentData !== undefined)
    context.parentData[context.parentDataProperty] = storableOutput(data);
  return true;
};

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    ...options,
  });
  addFormats.default(ajv);
  ajv.addKeyword({ keyword: TEXT_KEYWORD, schemaType: 'string', errors: true, validate: checkText });
  ajv.addKeyword({
    keyword: STORABLE_KEYWORD,
    schemaType: 'boolean',
    modifying: true,
    validate: makeStorable,
  });
  return ajv;
}

/** A validator for data that arrives as JSON (request bodies, agent frames): no type coercion. */
export function jsonValidator<T>(schema: object): ValidateFunction<T> {
  return makeAjv({ coerceTypes: false }).compile<T>(withEdgeRules(schema) as object);
}

/**
 * Bodies are validated strictly: a number sent as a string is a wrong type, not a number.
 * Query strings, params and headers arrive as text, so there types are coerced.
 */
export function validatorCompiler(): FastifySchemaCompiler<object> {
  const bodyAjv = makeAjv({ coerceTypes: false });
  const textAjv = makeAjv({ coerceTypes: 'array' });
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(withEdgeRules(schema) as object);
}
