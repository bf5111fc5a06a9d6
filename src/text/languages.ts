/**
 * The languages Liaison speaks, as BCP 47 tags: one message catalogue each (messages/<tag>.json).
 * English is complete; the others cover every page and email a student, a friend or a visitor
 * sees (staff, admin and analyst pages stay English). A test checks this list against the files.
 */
export const LANGUAGES = ['en', 'zh-Hans', 'ar'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Key prefixes of what only staff, admins and analysts read (their pages, the webhook alert): always English. */
export const STAFF_ONLY_PREFIXES = ['staff.', 'admin.', 'analytics.', 'email.webhookOff.'] as const;

/** Whether a key belongs to staff pages only (the other catalogues need not have it). */
export function isStaffOnlyKey(key: string): boolean {
  return STAFF_ONLY_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** A language's name in that language ("English", "中文（简体）", "العربية"), from Intl, for the language control. */
export function ownName(language: string): string {
  let name = ownNames.get(language);
  if (name === undefined) {
    const found = new Intl.DisplayNames([language], { type: 'language' }).of(language) ?? language;
    name = found.charAt(0).toLocaleUpperCase(language) + found.slice(1);
    ownNames.set(language, name);
  }
  return name;
}
const ownNames = new Map<string, string>();
