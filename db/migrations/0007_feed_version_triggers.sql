-- The public calendar feed's change counter (services/feeds): bumped by every change of a
-- session that the feed shows, whatever code makes it. Drafts are in no feed. The triggers are
-- deferred to the commit, so the counter row is always the last lock a transaction takes (no
-- deadlock with session row locks) and is held only while committing.
INSERT INTO "feed_versions" ("name") VALUES ('sessions') ON CONFLICT DO NOTHING;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "feed_versions_bump_sessions"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status = 'draft' THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.status = 'draft' THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD.status = 'draft' AND NEW.status = 'draft' THEN RETURN NULL; END IF;
  END IF;
  UPDATE "feed_versions"
  SET "version" = "version" + 1, "version_id" = gen_random_uuid(), "changed_at" = greatest("changed_at", now())
  WHERE "name" = 'sessions';
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "sessions_feed_version_insert_delete"
  AFTER INSERT OR DELETE ON "sessions"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump_sessions"();
--> statement-breakpoint
-- Only the columns a feed renders: the counters that every registration updates never fire it.
CREATE CONSTRAINT TRIGGER "sessions_feed_version_update"
  AFTER UPDATE ON "sessions"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN ((OLD.status, OLD.slug, OLD.title, OLD.summary, OLD.description, OLD.starts_at, OLD.ends_at, OLD.sequence, OLD.cancelled_at, OLD.updated_at)
    IS DISTINCT FROM (NEW.status, NEW.slug, NEW.title, NEW.summary, NEW.description, NEW.starts_at, NEW.ends_at, NEW.sequence, NEW.cancelled_at, NEW.updated_at))
  EXECUTE FUNCTION "feed_versions_bump_sessions"();
--> statement-breakpoint
CREATE TRIGGER "sessions_feed_version_truncate"
  AFTER TRUNCATE ON "sessions"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_sessions"();
