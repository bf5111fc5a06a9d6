import { COMPANION_ROLES } from '../../db/schema.js';

/** Who a companion is to the student: the database's own list, for the pages. */
export { COMPANION_ROLES };
export type CompanionRole = (typeof COMPANION_ROLES)[number];

/**
 * A support worker or interpreter is an accessibility adjustment, not a guest: they come whatever
 * the librarian's limit on friends (even none), up to this many per session.
 */
export const SUPPORT_LIMIT = 2;

/**
 * Whether a session's companions keep to the limits: at most `maxFriends` friends and family
 * (the librarian's setting) and at most SUPPORT_LIMIT support workers or interpreters.
 */
export function withinCompanionLimits(
  companions: readonly { role?: CompanionRole | null }[],
  maxFriends: number,
): boolean {
  const support = companions.filter((companion) => companion.role === 'support').length;
  return companions.length - support <= maxFriends && support <= SUPPORT_LIMIT;
}
