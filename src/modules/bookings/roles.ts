import { COMPANION_ROLES } from '../../db/schema.js';

/** Who a companion is to the student: the database's own list, for the pages. */
export { COMPANION_ROLES };
export type CompanionRole = (typeof COMPANION_ROLES)[number];
