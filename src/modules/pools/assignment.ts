/** A librarian who could take a pooled booking: their load, and when they were last given one. */
export interface Candidate {
  librarianId: string;
  /** Confirmed sessions in the two weeks around the time wanted (a week either side). */
  sessions: number;
  /** When they were last assigned a pooled booking; null: never. */
  lastAssignedMs: number | null;
}

/**
 * The order in which a pooled booking tries librarians: fewest sessions in the surrounding two
 * weeks first; among equals, in turn (round robin): whoever was assigned one longest ago, or never,
 * first; then by id, so the order is the same for every racer.
 */
export function assignmentOrder(candidates: readonly Candidate[]): string[] {
  return [...candidates]
    .sort(
      (a, b) =>
        a.sessions - b.sessions ||
        (a.lastAssignedMs ?? -1) - (b.lastAssignedMs ?? -1) ||
        (a.librarianId < b.librarianId ? -1 : a.librarianId > b.librarianId ? 1 : 0),
    )
    .map((candidate) => candidate.librarianId);
}
