CREATE TABLE "session_hosts" (
	"session_id" uuid NOT NULL,
	"organizer_id" uuid NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_hosts_session_id_organizer_id_pk" PRIMARY KEY("session_id","organizer_id")
);
--> statement-breakpoint
ALTER TABLE "organizers" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "organizers" ADD COLUMN "token_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "last_registered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "session_hosts" ADD CONSTRAINT "session_hosts_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_hosts" ADD CONSTRAINT "session_hosts_organizer_id_organizers_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."organizers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "session_hosts_organizer_idx" ON "session_hosts" USING btree ("organizer_id","session_id");
--> statement-breakpoint
-- Each existing session's creator becomes its first host.
INSERT INTO "session_hosts" ("session_id", "organizer_id", "added_at")
SELECT "id", "created_by", "created_at" FROM "sessions" WHERE "created_by" IS NOT NULL
ON CONFLICT DO NOTHING;
