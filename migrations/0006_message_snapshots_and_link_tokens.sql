ALTER TABLE "companions" ADD COLUMN "ordinal" bigserial NOT NULL;--> statement-breakpoint
ALTER TABLE "manage_tokens" ADD COLUMN "issued_via" text DEFAULT 'email' NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "payload" jsonb;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "link_token" text;