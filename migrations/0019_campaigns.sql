CREATE TABLE "campaign_attributions" (
	"member_id" uuid NOT NULL,
	"student_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "campaign_attributions_member_id_student_id_pk" PRIMARY KEY("member_id","student_id")
);
--> statement-breakpoint
CREATE TABLE "campaign_members" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"campaign_id" uuid NOT NULL,
	"email" text,
	"student_ref" text,
	"first_name" text,
	"categories" jsonb NOT NULL,
	"stratum" text NOT NULL,
	"arm" text,
	"link_token_hash" text,
	"stop_token_hash" text,
	"link_expires_at" timestamp with time zone,
	"notification_id" uuid,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "campaign_members_link_token_hash_unique" UNIQUE("link_token_hash"),
	CONSTRAINT "campaign_members_stop_token_hash_unique" UNIQUE("stop_token_hash"),
	CONSTRAINT "campaign_members_email_unique" UNIQUE("campaign_id","email")
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"hypothesis" text NOT NULL,
	"primary_outcome" text NOT NULL,
	"arms" jsonb NOT NULL,
	"holdout_percent" integer NOT NULL,
	"stratify_by" text,
	"seed" text NOT NULL,
	"send_from" timestamp with time zone NOT NULL,
	"send_until" timestamp with time zone NOT NULL,
	"outcome_days" integer NOT NULL,
	"status" text NOT NULL,
	"sent_at" timestamp with time zone,
	"cohort_source" text,
	"opted_out_left_out" integer DEFAULT 0 NOT NULL,
	"duplicates_merged" integer DEFAULT 0 NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invitation_opt_outs" (
	"email" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "campaign_attributions" ADD CONSTRAINT "campaign_attributions_member_id_campaign_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."campaign_members"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_attributions" ADD CONSTRAINT "campaign_attributions_student_id_students_id_fk" FOREIGN KEY ("student_id") REFERENCES "public"."students"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_members" ADD CONSTRAINT "campaign_members_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "campaign_members_campaign_arm_idx" ON "campaign_members" USING btree ("campaign_id","arm");