import { type TSchema, Type } from 'typebox';
import { LANGUAGES } from '../text/languages.js';

/** Shared building blocks for route schemas. */
export const Uuid = (description?: string) => Type.String({ format: 'uuid', ...(description ? { description } : {}) });
export const IsoDate = (description: string) => Type.String({ format: 'date', description, examples: ['2027-03-29'] });
export const Instant = (description: string) =>
  Type.String({ format: 'date-time', description, examples: ['2027-03-29T09:00:00+01:00'] });
export const TimeOfDay = (description: string) =>
  Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description, examples: ['09:00'] });
export const TimeZoneName = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, description, examples: ['Europe/London'] });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const IdParams = Type.Object({ id: Uuid('The resource id') });

export const ModeSchema = Type.Enum(['in_person', 'online'], {
  description: 'in_person (at a location) or online (meeting link)',
});

/** A success response schema with the sentence OpenAPI shows for it. */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}

/** A language Liaison writes in: one it has a message catalogue for (BCP 47 tag). */
export const Language = (description = 'A language Liaison writes in (BCP 47 tag)') =>
  Type.Enum([...LANGUAGES], {
    description: `${description}: en (English), zh-Hans (Simplified Chinese) or ar (Arabic)`,
  });
