import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IntlMessageFormat } from 'intl-messageformat';

/** The folder of message catalogues: one JSON file per language (en.json, zh-Hans.json, ar.json, …). */
export const MESSAGES_DIR = fileURLToPath(new URL('./messages', import.meta.url));
const FALLBACK = 'en';

type Catalogue = Record<string, string>;

export type Translate = (key: string, params?: Record<string, string | number>) => string;

export interface Catalogues {
  /** The languages there are catalogues for, as their files name them (BCP 47: "en", "zh-Hans"). */
  languages: string[];
  /** The best language for an Accept-Language header, falling back to English. */
  negotiate(acceptLanguage: string | undefined): string;
  /** `language` as a catalogue names it when there is one for it ("zh-hans" → "zh-Hans"), else null. */
  known(language: unknown): string | null;
  translator(language: string): Translate;
}

/**
 * Arguments that leave each simple placeholder as it is (`{key}`), for a template that code other
 * than the catalogue fills in later (the SVG charts' labels, a count written by the page's script).
 */
export const KEEP_PLACEHOLDERS: Record<string, string> = new Proxy(
  {},
  {
    get: (_target, name) => (typeof name === 'string' ? `{${name}}` : undefined),
    has: () => true,
  },
);

/** A tag's language and script, filled in where the tag leaves them out (zh-CN → zh-Hans, ar-EG → ar-Arab). */
function languageAndScript(tag: string): string | null {
  try {
    const full = new Intl.Locale(tag).maximize();
    return `${full.language}-${full.script ?? ''}`;
  } catch {
    return null;
  }
}

/**
 * Every word a person reads comes from here, on pages and in emails and calendar files. A
 * language is a file of ICU MessageFormat messages (`{name}`, `{count, plural, one {…} other {…}}`,
 * `{role, select, …}`), formatted by intl-messageformat; keys a language lacks fall back to
 * English, and an unknown key is a programming error (it throws, and a test renders every page).
 */
export function loadCatalogues(directory = MESSAGES_DIR): Catalogues {
  const catalogues = new Map<string, Catalogue>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
    catalogues.set(path.basename(file, '.json'), JSON.parse(readFileSync(path.join(directory, file), 'utf8')));
  }
  const english = catalogues.get(FALLBACK);
  if (!english) throw new Error(`No ${FALLBACK}.json in ${directory}`);
  const languages = [...catalogues.keys()];
  const byLowerCase = new Map(languages.map((language) => [language.toLowerCase(), language]));
  const byScript = new Map(languages.map((language) => [languageAndScript(language), language]));
  const translators = new Map<string, Translate>();

  function known(language: unknown): string | null {
    return typeof language === 'string' && language.length <= 35
      ? (byLowerCase.get(language.toLowerCase()) ?? null)
      : null;
  }

  function translator(language: string): Translate {
    const chosen = known(language) ?? FALLBACK;
    const cached = translators.get(chosen);
    if (cached) return cached;
    const catalogue = catalogues.get(chosen) ?? (english as Catalogue);
    const fallback = english as Catalogue;
    const formats = new Map<string, IntlMessageFormat>();
    const translate: Translate = (key, params = {}) => {
      let format = formats.get(key);
      if (!format) {
        const own = catalogue[key];
        const template = own ?? fallback[key];
        if (template === undefined) throw new Error(`Message "${key}" is not in the catalogue`);
        // Tags are not markup here: pages escape every message, and "p < 0.001" is text.
        format = new IntlMessageFormat(template, own === undefined ? FALLBACK : chosen, undefined, { ignoreTag: true });
        formats.set(key, format);
      }
      try {
        return String(format.format(params));
      } catch (error) {
        throw new Error(`Message "${key}": ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    translators.set(chosen, translate);
    return translate;
  }

  return {
    languages,
    known,
    negotiate(acceptLanguage) {
      const wanted = (acceptLanguage ?? '')
        .split(',')
        .slice(0, 20)
        .map((part) => {
          const [tag = '', ...params] = part.trim().split(';');
          const quality = params.find((p) => p.trim().startsWith('q='));
          return { tag: tag.trim(), q: quality ? Number(quality.trim().slice(2)) : 1 };
        })
        .filter((entry) => entry.tag && entry.q > 0)
        .sort((a, b) => b.q - a.q);
      for (const { tag } of wanted) {
        const exact = known(tag);
        if (exact) return exact;
        // zh-CN and zh-SG are written in Simplified Chinese (zh-Hans); zh-TW is not.
        const sameScript = byScript.get(languageAndScript(tag));
        if (sameScript) return sameScript;
      }
      return FALLBACK;
    },
    translator,
  };
}
