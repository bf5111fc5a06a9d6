ALTER TABLE "feedback_responses" ADD COLUMN "nerves_now" smallint;--> statement-breakpoint
ALTER TABLE "bookings" ADD COLUMN "nerves_before" smallint;--> statement-breakpoint
ALTER TABLE "bookings" ADD COLUMN "effort" smallint;--> statement-breakpoint
ALTER TABLE "feedback_responses" ADD CONSTRAINT "feedback_responses_nerves_now_check" CHECK ("feedback_responses"."nerves_now" between 1 and 5);--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_nerves_before_check" CHECK ("bookings"."nerves_before" between 1 and 5);--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_effort_check" CHECK ("bookings"."effort" between 1 and 6);