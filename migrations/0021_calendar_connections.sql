CREATE TABLE "calendar_busy_blocks" (
	"connection_id" uuid NOT NULL,
	"librarian_id" uuid NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	CONSTRAINT "calendar_busy_blocks_order_check" CHECK ("calendar_busy_blocks"."ends_at" > "calendar_busy_blocks"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "calendar_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"librarian_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"label" text NOT NULL,
	"secret" text NOT NULL,
	"secret_set_at" timestamp with time zone NOT NULL,
	"host" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sync_state" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"busy_digest" text,
	"last_attempt_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"failing_since" timestamp with time zone,
	"failure_notified_at" timestamp with time zone,
	"next_sync_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "calendar_event_copies" (
	"connection_id" uuid NOT NULL,
	"booking_id" uuid NOT NULL,
	"url" text,
	"etag" text,
	"digest" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "calendar_event_copies_connection_id_booking_id_pk" PRIMARY KEY("connection_id","booking_id")
);
--> statement-breakpoint
ALTER TABLE "calendar_busy_blocks" ADD CONSTRAINT "calendar_busy_blocks_connection_id_calendar_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."calendar_connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calendar_connections" ADD CONSTRAINT "calendar_connections_librarian_id_librarians_id_fk" FOREIGN KEY ("librarian_id") REFERENCES "public"."librarians"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calendar_event_copies" ADD CONSTRAINT "calendar_event_copies_connection_id_calendar_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."calendar_connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calendar_busy_blocks_librarian_idx" ON "calendar_busy_blocks" USING btree ("librarian_id","starts_at");--> statement-breakpoint
CREATE INDEX "calendar_busy_blocks_connection_idx" ON "calendar_busy_blocks" USING btree ("connection_id");--> statement-breakpoint
CREATE INDEX "calendar_connections_librarian_idx" ON "calendar_connections" USING btree ("librarian_id");--> statement-breakpoint
CREATE INDEX "calendar_connections_next_sync_idx" ON "calendar_connections" USING btree ("next_sync_at");