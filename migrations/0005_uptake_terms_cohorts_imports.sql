CREATE TABLE "cohorts" (
	"term_id" uuid NOT NULL,
	"dimension" text NOT NULL,
	"value" text NOT NULL,
	"size" integer NOT NULL,
	CONSTRAINT "cohorts_term_id_dimension_value_pk" PRIMARY KEY("term_id","dimension","value"),
	CONSTRAINT "cohorts_size_check" CHECK ("cohorts"."size" >= 0)
);
--> statement-breakpoint
CREATE TABLE "terms" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"starts_on" date NOT NULL,
	"ends_on" date NOT NULL,
	CONSTRAINT "terms_name_unique" UNIQUE("name"),
	CONSTRAINT "terms_range_check" CHECK ("terms"."ends_on" >= "terms"."starts_on")
);
--> statement-breakpoint
ALTER TABLE "bookings" ADD COLUMN "student_ref" text;--> statement-breakpoint
ALTER TABLE "cohorts" ADD CONSTRAINT "cohorts_term_id_terms_id_fk" FOREIGN KEY ("term_id") REFERENCES "public"."terms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "bookings_import_dedupe_key" ON "bookings" USING btree ("starts_at",coalesce("librarian_id"::text, ''),"student_ref") WHERE "bookings"."source" = 'imported';