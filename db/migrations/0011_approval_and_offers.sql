ALTER TYPE "public"."notification_kind" ADD VALUE 'request_received';--> statement-breakpoint
ALTER TYPE "public"."notification_kind" ADD VALUE 'request_declined';--> statement-breakpoint
ALTER TYPE "public"."notification_kind" ADD VALUE 'offered';--> statement-breakpoint
ALTER TYPE "public"."notification_kind" ADD VALUE 'offer_expired';--> statement-breakpoint
ALTER TYPE "public"."registration_status" ADD VALUE 'pending' BEFORE 'cancelled';--> statement-breakpoint
ALTER TYPE "public"."registration_status" ADD VALUE 'offered' BEFORE 'cancelled';--> statement-breakpoint
ALTER TYPE "public"."registration_status" ADD VALUE 'declined';--> statement-breakpoint
ALTER TYPE "public"."registration_status" ADD VALUE 'expired';--> statement-breakpoint
DROP INDEX "registrations_one_active_per_attendee";--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "offer_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "offered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "declined_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "approval" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "waitlist_mode" text DEFAULT 'auto' NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "offer_minutes" integer DEFAULT 1440 NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "pending_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "offered_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "registrations_offer_expiry_idx" ON "registrations" USING btree ("offer_expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "registrations_one_active_per_attendee" ON "registrations" USING btree ("session_id","attendee_id") WHERE "registrations"."status" < 'cancelled';--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_offer_counts_non_negative" CHECK ("sessions"."pending_count" >= 0 AND "sessions"."offered_count" >= 0);--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_waitlist_mode" CHECK ("sessions"."waitlist_mode" IN ('auto', 'offer'));--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_offer_minutes" CHECK ("sessions"."offer_minutes" BETWEEN 1 AND 10080);