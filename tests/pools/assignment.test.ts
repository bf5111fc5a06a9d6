import { describe, expect, it } from 'vitest';
import { assignmentOrder } from '../../src/modules/pools/assignment.js';

describe('who gets a pooled booking', () => {
  it('puts the fewest sessions first, then whoever has waited longest for a pooled booking, then by id', () => {
    expect(
      assignmentOrder([
        { librarianId: 'a', sessions: 3, lastAssignedMs: null },
        { librarianId: 'b', sessions: 1, lastAssignedMs: 5000 },
        { librarianId: 'c', sessions: 1, lastAssignedMs: 1000 },
        { librarianId: 'd', sessions: 1, lastAssignedMs: null },
        { librarianId: 'e', sessions: 0, lastAssignedMs: 9000 },
        { librarianId: 'f', sessions: 1, lastAssignedMs: null },
      ]),
    ).toEqual(['e', 'd', 'f', 'c', 'b', 'a']);
  });
});
