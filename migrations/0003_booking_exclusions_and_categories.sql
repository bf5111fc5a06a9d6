-- Hand-written: drizzle-kit cannot express EXCLUDE constraints.
-- No double booking, enforced by the database whatever the application does: a librarian's
-- confirmed bookings may not overlap, counting each one's buffer (occupied_until), and a
-- student may not hold two overlapping confirmed sessions. Recorded and imported sessions are
-- history, not holds, so they are left out.
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_librarian_overlap"
  EXCLUDE USING gist ("librarian_id" WITH =, tstzrange("starts_at", "occupied_until") WITH &&)
  WHERE ("status" = 'confirmed' AND "source" = 'booked');
--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_student_overlap"
  EXCLUDE USING gist ("student_id" WITH =, tstzrange("starts_at", "ends_at") WITH &&)
  WHERE ("status" = 'confirmed' AND "source" = 'booked');
--> statement-breakpoint
-- The category dimensions every library starts with; admins edit them through the API.
INSERT INTO "category_dimensions" ("key", "label", "position") VALUES
  ('fee_status', 'Fee status', 1),
  ('study_level', 'Level of study', 2);
--> statement-breakpoint
INSERT INTO "category_values" ("dimension_key", "value", "label", "position") VALUES
  ('fee_status', 'home', 'Home', 1),
  ('fee_status', 'international', 'International', 2),
  ('study_level', 'undergraduate', 'Undergraduate', 1),
  ('study_level', 'postgraduate_taught', 'Postgraduate taught', 2),
  ('study_level', 'postgraduate_research', 'Postgraduate research', 3),
  ('study_level', 'staff', 'Staff', 4),
  ('study_level', 'other', 'Other', 5);
