CREATE TYPE "public"."organizer_role" AS ENUM('admin', 'organizer');--> statement-breakpoint
CREATE TYPE "public"."session_status" AS ENUM('draft', 'published', 'cancelled');--> statement-breakpoint
CREATE TABLE "organizers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" "organizer_role" DEFAULT 'organizer' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"summary" text,
	"description" text,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"timezone" text NOT NULL,
	"capacity" integer,
	"waitlist_enabled" boolean DEFAULT true NOT NULL,
	"waitlist_limit" integer,
	"registration_opens_at" timestamp with time zone,
	"registration_closes_at" timestamp with time zone,
	"audience" jsonb DEFAULT '{"kind":"public"}'::jsonb NOT NULL,
	"questions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reminders" jsonb DEFAULT '[1440,60]'::jsonb NOT NULL,
	"join_url" text,
	"join_instructions" text,
	"contact_name" text NOT NULL,
	"contact_email" text NOT NULL,
	"status" "session_status" DEFAULT 'draft' NOT NULL,
	"sequence" integer DEFAULT 0 NOT NULL,
	"cancel_reason" text,
	"published_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"created_by" uuid,
	"confirmed_count" integer DEFAULT 0 NOT NULL,
	"waitlisted_count" integer DEFAULT 0 NOT NULL,
	"cancelled_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sessions_ends_after_start" CHECK ("sessions"."ends_at" > "sessions"."starts_at"),
	CONSTRAINT "sessions_capacity_non_negative" CHECK ("sessions"."capacity" IS NULL OR "sessions"."capacity" >= 0),
	CONSTRAINT "sessions_waitlist_limit_non_negative" CHECK ("sessions"."waitlist_limit" IS NULL OR "sessions"."waitlist_limit" >= 0),
	CONSTRAINT "sessions_counts_non_negative" CHECK ("sessions"."confirmed_count" >= 0 AND "sessions"."waitlisted_count" >= 0 AND "sessions"."cancelled_count" >= 0)
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_created_by_organizers_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."organizers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "organizers_email_key" ON "organizers" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_slug_key" ON "sessions" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "sessions_starts_at_idx" ON "sessions" USING btree ("starts_at");