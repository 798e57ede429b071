ALTER TABLE "sessions" ADD COLUMN "follow_up" jsonb;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "follow_up_sent_at" timestamp with time zone;