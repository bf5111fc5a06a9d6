CREATE TABLE "feedback_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"booking_id" uuid NOT NULL,
	"respondent" text NOT NULL,
	"companion_id" uuid,
	"token_hash" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedback_requests_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "feedback_requests_person_key" UNIQUE NULLS NOT DISTINCT("booking_id","respondent","companion_id"),
	CONSTRAINT "feedback_requests_respondent_check" CHECK ("feedback_requests"."respondent" in ('student', 'companion')),
	CONSTRAINT "feedback_requests_companion_check" CHECK (("feedback_requests"."respondent" = 'companion') = ("feedback_requests"."companion_id" is not null))
);
--> statement-breakpoint
CREATE TABLE "feedback_responses" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"nervous" smallint,
	"useful" smallint,
	"book_myself" text,
	"comment" text,
	"submitted_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "feedback_responses_nervous_check" CHECK ("feedback_responses"."nervous" between 1 and 5),
	CONSTRAINT "feedback_responses_useful_check" CHECK ("feedback_responses"."useful" between 1 and 5),
	CONSTRAINT "feedback_responses_book_myself_check" CHECK ("feedback_responses"."book_myself" in ('yes', 'maybe', 'no')),
	CONSTRAINT "feedback_responses_comment_check" CHECK (char_length("feedback_responses"."comment") <= 1000)
);
--> statement-breakpoint
ALTER TABLE "feedback_requests" ADD CONSTRAINT "feedback_requests_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback_requests" ADD CONSTRAINT "feedback_requests_companion_id_companions_id_fk" FOREIGN KEY ("companion_id") REFERENCES "public"."companions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback_responses" ADD CONSTRAINT "feedback_responses_request_id_feedback_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."feedback_requests"("id") ON DELETE cascade ON UPDATE no action;