CREATE TABLE "availability_overrides" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"librarian_id" uuid,
	"kind" text NOT NULL,
	"from_date" date,
	"to_date" date,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"reason" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "availability_overrides_kind_check" CHECK ("availability_overrides"."kind" in ('closed', 'open')),
	CONSTRAINT "availability_overrides_range_check" CHECK (("availability_overrides"."from_date" is not null and "availability_overrides"."to_date" is not null and "availability_overrides"."to_date" >= "availability_overrides"."from_date" and "availability_overrides"."starts_at" is null and "availability_overrides"."ends_at" is null)
       or ("availability_overrides"."starts_at" is not null and "availability_overrides"."ends_at" is not null and "availability_overrides"."ends_at" > "availability_overrides"."starts_at" and "availability_overrides"."from_date" is null and "availability_overrides"."to_date" is null)),
	CONSTRAINT "availability_overrides_library_wide_check" CHECK ("availability_overrides"."librarian_id" is not null or "availability_overrides"."kind" = 'closed')
);
--> statement-breakpoint
CREATE TABLE "availability_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"librarian_id" uuid NOT NULL,
	"weekday" smallint NOT NULL,
	"start_time" time NOT NULL,
	"end_time" time NOT NULL,
	"valid_from" date,
	"valid_to" date,
	"mode" text,
	"location" text,
	CONSTRAINT "availability_rules_weekday_check" CHECK ("availability_rules"."weekday" between 1 and 7),
	CONSTRAINT "availability_rules_window_check" CHECK ("availability_rules"."end_time" > "availability_rules"."start_time"),
	CONSTRAINT "availability_rules_validity_check" CHECK ("availability_rules"."valid_to" is null or "availability_rules"."valid_from" is null or "availability_rules"."valid_to" >= "availability_rules"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "librarians" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"subjects" text[] DEFAULT '{}'::text[] NOT NULL,
	"faculty" text,
	"time_zone" text NOT NULL,
	"slot_minutes" integer DEFAULT 60 NOT NULL,
	"buffer_minutes" integer DEFAULT 0 NOT NULL,
	"min_notice_minutes" integer DEFAULT 120 NOT NULL,
	"horizon_days" integer DEFAULT 60 NOT NULL,
	"max_companions" integer DEFAULT 1 NOT NULL,
	"modes" text[] DEFAULT '{in_person}'::text[] NOT NULL,
	"location" text,
	"meeting_url" text,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "librarians_slot_minutes_check" CHECK ("librarians"."slot_minutes" between 5 and 480),
	CONSTRAINT "librarians_buffer_minutes_check" CHECK ("librarians"."buffer_minutes" between 0 and 240),
	CONSTRAINT "librarians_min_notice_minutes_check" CHECK ("librarians"."min_notice_minutes" between 0 and 43200),
	CONSTRAINT "librarians_horizon_days_check" CHECK ("librarians"."horizon_days" between 1 and 730),
	CONSTRAINT "librarians_max_companions_check" CHECK ("librarians"."max_companions" between 0 and 5)
);
--> statement-breakpoint
ALTER TABLE "availability_overrides" ADD CONSTRAINT "availability_overrides_librarian_id_librarians_id_fk" FOREIGN KEY ("librarian_id") REFERENCES "public"."librarians"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "availability_rules" ADD CONSTRAINT "availability_rules_librarian_id_librarians_id_fk" FOREIGN KEY ("librarian_id") REFERENCES "public"."librarians"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "availability_overrides_librarian_idx" ON "availability_overrides" USING btree ("librarian_id");--> statement-breakpoint
CREATE INDEX "availability_rules_librarian_idx" ON "availability_rules" USING btree ("librarian_id");--> statement-breakpoint
CREATE UNIQUE INDEX "librarians_email_key" ON "librarians" USING btree (lower("email"));