import { type Static, Type } from 'typebox';
import { Language, Uuid } from '../../http/formats.js';

const Key = Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}$', description: 'snake_case identifier' });

export const CategoryValues = Type.Record(Type.String({ maxLength: 40 }), Type.String({ maxLength: 40 }), {
  description: 'Category values by dimension key, e.g. {"fee_status": "international"}',
  maxProperties: 20,
});
export type CategoryValues = Static<typeof CategoryValues>;

export const Dimension = Type.Object(
  {
    key: Key,
    label: Type.String({ minLength: 1, maxLength: 100 }),
    values: Type.Array(
      Type.Object(
        { value: Key, label: Type.String({ minLength: 1, maxLength: 100 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
  },
  { additionalProperties: false },
);
export type Dimension = Static<typeof Dimension>;

export const DimensionList = Type.Object(
  { dimensions: Type.Array(Dimension, { maxItems: 20 }) },
  { additionalProperties: false },
);
export type DimensionList = Static<typeof DimensionList>;

export const StudentProfile = Type.Object({
  id: Uuid(),
  name: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  categories: CategoryValues,
  language: Type.Union([Language(), Type.Null()], {
    description:
      "The language of the student's pages and emails (and, unless they choose another, their friends' emails); null: not chosen (English, or the browser's language on pages)",
  }),
});
export type StudentProfile = Static<typeof StudentProfile>;

export const PutProfile = Type.Object(
  {
    categories: CategoryValues,
    language: Type.Optional(Type.Union([Language(), Type.Null()], { description: 'Left out: kept as it is' })),
  },
  { additionalProperties: false },
);
export type PutProfile = Static<typeof PutProfile>;
