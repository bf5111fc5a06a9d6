-- btree_gist lets an EXCLUDE constraint combine equality on ids with overlap of time ranges,
-- which is how the database itself forbids double bookings. Trusted since PostgreSQL 13, so
-- the database owner can create it; PGlite loads it as a contrib extension.
-- In public explicitly, so that a connection's search_path never hides its operator classes.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
