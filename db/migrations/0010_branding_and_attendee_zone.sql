CREATE TABLE "settings" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"name" text,
	"website" text,
	"accent_color" text,
	"mail_from_name" text,
	"footer" text,
	"privacy_url" text,
	"logo" "bytea",
	"logo_type" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "settings_single_row" CHECK ("settings"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "attendee_timezone" text;--> statement-breakpoint
CREATE INDEX "registrations_session_name_idx" ON "registrations" USING btree ("session_id",(lower("name") COLLATE "und-x-icu"),"id");