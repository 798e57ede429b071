-- The webhook outbox (services/webhooks): every change of a registration or a session writes its
-- event, one row per enabled endpoint that wants it, in the transaction of the change, whatever
-- code makes it (the seat statement, a cancellation, an approval, the waitlist moving up, a
-- check-in, the console, the API). An endpoint gets the events of the sessions its owner may see:
-- the hosts rule of src/services/hosts.ts (its hosts, and every admin), for an owner who is not
-- disabled. The row is written while the change holds its row lock, so the events of one
-- registration take their `seq` in the order they happened.
CREATE OR REPLACE FUNCTION "webhook_enqueue"(event text, session uuid, ordering uuid, payload jsonb) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "webhook_deliveries" ("id", "endpoint_id", "event_type", "ordering_key", "data")
  SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e."id", event, ordering, payload
  FROM "webhook_endpoints" e
  JOIN "organizers" o ON o."id" = e."organizer_id"
  WHERE e."enabled" AND event = ANY (e."events") AND o."disabled_at" IS NULL
    AND (o."role" = 'admin' OR EXISTS (
      SELECT 1 FROM "session_hosts" h WHERE h."session_id" = session AND h."organizer_id" = e."organizer_id"));
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "webhook_registration_events"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload jsonb := jsonb_build_object('sessionId', NEW."session_id", 'registrationId', NEW."id", 'status', NEW."status");
BEGIN
  -- Nothing to look up while no endpoint exists (most installations): the hot path stays as it was.
  IF NOT EXISTS (SELECT 1 FROM "webhook_endpoints" WHERE "enabled") THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM "webhook_enqueue"('registration.created', NEW."session_id", NEW."id", payload);
  ELSIF NEW."status" IS DISTINCT FROM OLD."status" THEN
    PERFORM "webhook_enqueue"(
      CASE NEW."status"
        WHEN 'confirmed' THEN 'registration.confirmed'
        WHEN 'waitlisted' THEN 'registration.waitlisted'
        WHEN 'cancelled' THEN 'registration.cancelled'
        WHEN 'declined' THEN 'registration.cancelled'
        WHEN 'expired' THEN 'registration.cancelled'
      END,
      NEW."session_id", NEW."id", payload);
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."checked_in_at" IS NULL AND NEW."checked_in_at" IS NOT NULL THEN
    PERFORM "webhook_enqueue"('registration.checked_in', NEW."session_id", NEW."id", payload);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "registrations_webhook_events"
  AFTER INSERT OR UPDATE OF "status", "checked_in_at" ON "registrations"
  FOR EACH ROW EXECUTE FUNCTION "webhook_registration_events"();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "webhook_session_events"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload jsonb := jsonb_build_object('sessionId', NEW."id", 'status', NEW."status", 'startsAt', NEW."starts_at", 'endsAt', NEW."ends_at");
  event text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "webhook_endpoints" WHERE "enabled") THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."status" = 'published' THEN event := 'session.published'; END IF;
  ELSIF NEW."status" IS DISTINCT FROM OLD."status" THEN
    event := CASE NEW."status" WHEN 'published' THEN 'session.published' WHEN 'cancelled' THEN 'session.cancelled' END;
  ELSIF NEW."status" = 'published' THEN
    event := 'session.updated';
  END IF;
  IF event IS NOT NULL THEN PERFORM "webhook_enqueue"(event, NEW."id", NEW."id", payload); END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- Deferred to the commit: the creator becomes a host after the session row is written.
CREATE CONSTRAINT TRIGGER "sessions_webhook_events_insert"
  AFTER INSERT ON "sessions"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "webhook_session_events"();
--> statement-breakpoint
-- What an organizer changes: the counters that every registration updates never fire it.
CREATE TRIGGER "sessions_webhook_events_update"
  AFTER UPDATE ON "sessions"
  FOR EACH ROW
  WHEN ((OLD."status", OLD."slug", OLD."title", OLD."summary", OLD."description", OLD."starts_at", OLD."ends_at", OLD."timezone",
         OLD."capacity", OLD."waitlist_enabled", OLD."approval", OLD."registration_opens_at", OLD."registration_closes_at",
         OLD."audience", OLD."join_url", OLD."join_instructions", OLD."sequence")
    IS DISTINCT FROM (NEW."status", NEW."slug", NEW."title", NEW."summary", NEW."description", NEW."starts_at", NEW."ends_at", NEW."timezone",
         NEW."capacity", NEW."waitlist_enabled", NEW."approval", NEW."registration_opens_at", NEW."registration_closes_at",
         NEW."audience", NEW."join_url", NEW."join_instructions", NEW."sequence"))
  EXECUTE FUNCTION "webhook_session_events"();
