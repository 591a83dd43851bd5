-- Recording control: per queue, whether its calls are recorded (never, always from the
-- answer, or on demand through the API), and for how many days the files are kept (0: for
-- ever). Each recording is a stereo file (the caller left, the agent right) made by the relay
-- of one agent leg; its metadata is here, with the spans it was paused (a card number read
-- out is not kept).
ALTER TABLE queues
  ADD COLUMN recording text NOT NULL DEFAULT 'NEVER'
    CONSTRAINT queues_recording_policy CHECK (recording IN ('NEVER','ALWAYS','ON_DEMAND')),
  ADD COLUMN recording_retention_days int NOT NULL DEFAULT 0
    CONSTRAINT queues_recording_retention CHECK (recording_retention_days BETWEEN 0 AND 3650);

CREATE TABLE recordings (
  id            bigserial PRIMARY KEY,
  call_id       text NOT NULL REFERENCES calls (id),
  assignment_id bigint NOT NULL,
  agent_id      text NOT NULL,
  queue         text NOT NULL,
  path          text NOT NULL UNIQUE,  -- under the relay's recording directory
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  bytes         bigint,
  keep_until    date,                  -- NULL: kept for ever
  deleted_at    timestamptz,           -- the retention has passed
  started_by    text NOT NULL DEFAULT ''
);
CREATE INDEX recordings_call_idx ON recordings (call_id, id);
CREATE INDEX recordings_expiry_idx ON recordings (keep_until) WHERE deleted_at IS NULL;

CREATE TABLE recording_pauses (
  recording_id bigint NOT NULL REFERENCES recordings (id),
  paused_at    timestamptz NOT NULL,
  resumed_at   timestamptz,
  PRIMARY KEY (recording_id, paused_at)
);

-- A recording ends with its agent leg at the latest (a lost report of its end, a relay that
-- closed the file with the leg): whatever path ends the leg.
CREATE FUNCTION assignments_end_recordings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL THEN
    UPDATE recordings SET ended_at = NEW.ended_at WHERE assignment_id = NEW.id AND ended_at IS NULL;
    UPDATE recording_pauses p SET resumed_at = NEW.ended_at FROM recordings r
     WHERE p.recording_id = r.id AND r.assignment_id = NEW.id AND p.resumed_at IS NULL;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER assignments_end_recordings AFTER UPDATE OF ended_at ON assignments
  FOR EACH ROW EXECUTE FUNCTION assignments_end_recordings();
