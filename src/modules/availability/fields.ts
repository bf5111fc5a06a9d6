import { InvalidInput } from '../../errors.js';

/** A 400 problem naming the field (a JSON pointer) and what is wrong with it. */
export function badField(pointer: string, message: string, where: 'body' | 'query' = 'body'): InvalidInput {
  return new InvalidInput(`${pointer.slice(1)} ${message}.`, [{ pointer, in: where, message }]);
}
