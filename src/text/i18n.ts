import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of message catalogues: one JSON file per language (en.json, cy.json, …). */
export const MESSAGES_DIR = fileURLToPath(new URL('./messages', import.meta.url));
const FALLBACK = 'en';

type Catalogue = Record<string, string>;

export type Translate = (key: string, params?: Record<string, string | number>) => string;

export interface Catalogues {
  languages: string[];
  /** The best language for an Accept-Language header, falling back to English. */
  negotiate(acceptLanguage: string | undefined): string;
  translator(language: string): Translate;
}

/**
 * Every word a person reads comes from here, on pages and in emails and calendar files. A
 * language is a file; keys it lacks fall back to English, and an unknown key is a programming
 * error (it throws, and a test renders every page). A message with a `count` may have plural
 * forms, `key.one`, `key.other` and the others Intl.PluralRules names for the language.
 */
export function loadCatalogues(directory = MESSAGES_DIR): Catalogues {
  const catalogues = new Map<string, Catalogue>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
    catalogues.set(
      path.basename(file, '.json').toLowerCase(),
      JSON.parse(readFileSync(path.join(directory, file), 'utf8')),
    );
  }
  const english = catalogues.get(FALLBACK);
  if (!english) throw new Error(`No ${FALLBACK}.json in ${directory}`);
  const languages = [...catalogues.keys()];

  return {
    languages,
    negotiate(acceptLanguage) {
      const wanted = (acceptLanguage ?? '')
        .split(',')
        .map((part) => {
          const [tag = '', ...params] = part.trim().toLowerCase().split(';');
          const quality = params.find((p) => p.trim().startsWith('q='));
          return { tag: tag.trim(), q: quality ? Number(quality.trim().slice(2)) : 1 };
        })
        .filter((entry) => entry.tag && entry.q > 0)
        .sort((a, b) => b.q - a.q);
      for (const { tag } of wanted) {
        if (catalogues.has(tag)) return tag;
        const primary = tag.split('-')[0] as string;
        if (catalogues.has(primary)) return primary;
      }
      return FALLBACK;
    },
    translator(language) {
      const catalogue = catalogues.get(language) ?? english;
      const plurals = new Intl.PluralRules(catalogues.has(language) ? language : FALLBACK);
      const find = (key: string) => catalogue[key] ?? english[key];
      return (key, params = {}) => {
        // A count picks the language's plural form: key.one, key.few, … and key.other.
        const template =
          find(key) ??
          (typeof params.count === 'number'
            ? (find(`${key}.${plurals.select(params.count)}`) ?? find(`${key}.other`))
            : undefined);
        if (template === undefined) throw new Error(`Message "${key}" is not in the catalogue`);
        return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
      };
    },
  };
}
