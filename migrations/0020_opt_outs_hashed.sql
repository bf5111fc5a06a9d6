-- Opt-outs kept as SHA-256 of the address (hand-edited from drizzle-kit's output, which would
-- drop the addresses before hashing them): the stored addresses are hashed in place.
ALTER TABLE "invitation_opt_outs" ADD COLUMN "email_hash" text;--> statement-breakpoint
UPDATE "invitation_opt_outs" SET "email_hash" = encode(sha256(convert_to(lower("email"), 'UTF8')), 'hex');--> statement-breakpoint
ALTER TABLE "invitation_opt_outs" DROP COLUMN "email";--> statement-breakpoint
ALTER TABLE "invitation_opt_outs" ALTER COLUMN "email_hash" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "invitation_opt_outs" ADD PRIMARY KEY ("email_hash");
