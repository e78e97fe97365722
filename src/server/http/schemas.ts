import { Type } from 'typebox';

/** Building blocks shared by every module's schemas. */
export const Id = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Id });
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
/** The answer of a route that answers 204: no body (typed so, so `reply.status(204).send()` fits). */
export const NoContent = Type.Unsafe<undefined>({ type: 'null', description: 'Done; no body' });
/** Script content and commands: control characters a shell accepts are kept (src/protocol/text.ts). */
export { ShellText } from '../../protocol/text.js';
