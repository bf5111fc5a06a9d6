import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { type FieldError, InvalidInput } from '../errors.js';

/**
 * The API's own schema, applied where a service is called without the HTTP layer (the pages):
 * input a route would refuse is refused the same way, naming the field, on every path.
 */
export function checkInput<T extends TSchema>(schema: T, value: unknown): asserts value is Static<T> {
  if (Value.Check(schema, value)) return;
  const errors: FieldError[] = [...Value.Errors(schema, value)]
    .slice(0, 20)
    .map((error) => ({ pointer: error.instancePath || '/', in: 'body', message: error.message }));
  throw new InvalidInput(
    `The request is invalid: ${errors.map((error) => `${error.pointer} ${error.message}`).join('; ')}.`,
    errors,
  );
}
