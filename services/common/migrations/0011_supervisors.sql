-- Supervisors: agents with the supervisor role over a queue may listen to, whisper in or
-- barge into that queue's connected calls. Every monitoring session is kept for the audit:
-- who, whom, which call, when, and each mode it was in.
CREATE TABLE queue_supervisors (
  queue      text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
  agent_id   text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, agent_id)
);

CREATE TABLE monitor_sessions (
  id            bigserial PRIMARY KEY,
  call_id       text NOT NULL REFERENCES calls (id),
  queue         text NOT NULL,
  supervisor_id text NOT NULL,  -- no foreign key: the record outlives a deleted agent
  agent_id      text NOT NULL,  -- the agent on the call when it began
  edge_id       text NOT NULL,
  mode          text NOT NULL CHECK (mode IN ('LISTEN','WHISPER','BARGE')),
  requested_by  text NOT NULL DEFAULT '',
  started_at    timestamptz NOT NULL,
  answered_at   timestamptz,
  ended_at      timestamptz,
  end_reason    text NOT NULL DEFAULT ''
);
-- One live session per call.
CREATE UNIQUE INDEX monitor_sessions_live ON monitor_sessions (call_id) WHERE ended_at IS NULL;
CREATE INDEX monitor_sessions_supervisor ON monitor_sessions (supervisor_id, started_at);

-- Each mode a session was in, from when (the first row is its start).
CREATE TABLE monitor_modes (
  session_id bigint NOT NULL REFERENCES monitor_sessions (id),
  at         timestamptz NOT NULL,
  mode       text NOT NULL CHECK (mode IN ('LISTEN','WHISPER','BARGE')),
  PRIMARY KEY (session_id, at, mode)
);

-- A session ends with its call (or when the call leaves the agent it was with), whichever
-- path takes the call there.
CREATE FUNCTION calls_end_monitoring() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state AND OLD.state = 'CONNECTED' THEN
    UPDATE monitor_sessions SET ended_at = COALESCE(NEW.ended_at, now()),
           end_reason = CASE WHEN NEW.ended_at IS NULL THEN 'the call left its agent'
                             ELSE 'the call ended' END
     WHERE call_id = NEW.id AND ended_at IS NULL;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER calls_end_monitoring AFTER UPDATE OF state ON calls
  FOR EACH ROW EXECUTE FUNCTION calls_end_monitoring();
