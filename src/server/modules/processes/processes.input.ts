import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError, type ErrorDetail } from '../../lib/errors.js';

/** Compiled input schemas kept at most; a package's content never changes under its hash. */
const MAX_COMPILED = 200;

/** JSON pointer escaping of one reference token (RFC 6901). */
function token(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The JSON pointer of the value an error is about: a missing or unexpected property names itself. */
function pointerOf(error: ErrorObject): string {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required' && params.missingProperty !== undefined)
    return `${error.instancePath}/${token(params.missingProperty)}`;
  if (error.keyword === 'additionalProperties' && params.additionalProperty !== undefined)
    return `${error.instancePath}/${token(params.additionalProperty)}`;
  return error.instancePath;
}

/** One detail per field (the first error about it), the field being `root` followed by its JSON pointer. */
export function inputDetails(errors: readonly ErrorObject[], root: string): ErrorDetail[] {
  const byField = new Map<string, string>();
  for (const error of errors) {
    const field = `${root}${pointerOf(error)}`;
    if (!byField.has(field)) byField.set(field, error.message ?? 'is not valid');
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

/**
 * Validates process input against the input_schema of a package's entry point. Each schema is
 * compiled by an Ajv of its own and kept (by package hash and entry point) in a bounded cache:
 * one shared Ajv would keep every schema it ever compiled.
 */
export class InputValidator {
  readonly #compiled = new Map<string, ValidateFunction>();

  /** Refuses (422, one detail per field) input the schema rejects; a schema that does not compile is 422 too. */
  check(key: string, schema: Record<string, unknown>, input: unknown, root: string): void {
    const validate = this.#validatorFor(key, schema);
    if (validate(input)) return;
    throw new AppError('unprocessable', `${root} does not match the entry point's input_schema`, {
      details: inputDetails(validate.errors ?? [], root),
    });
  }

  #validatorFor(key: string, schema: Record<string, unknown>): ValidateFunction {
    const known = this.#compiled.get(key);
    if (known) return known;
    const validate = compile(schema);
    if (this.#compiled.size >= MAX_COMPILED) {
      const oldest = this.#compiled.keys().next().value;
      if (oldest !== undefined) this.#compiled.delete(oldest);
    }
    this.#compiled.set(key, validate);
    return validate;
  }
}

function compile(schema: Record<string, unknown>): ValidateFunction {
  // strict off: a manifest's schema may carry keywords of its own tools (titles, examples, x-…).
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new AppError('unprocessable', "the entry point's input_schema cannot be compiled", {
      details: [{ field: 'entry_point', message: (error as Error).message }],
    });
  }
}
