-- Queues, dialplan, waiting calls and the atomic assignment of calls to agents.
-- The constraints here are the last line of defence: even if code is wrong, a call cannot
-- be offered to two agents at once, an agent cannot ring twice at once, and an agent cannot
-- hold more calls than max_calls.

CREATE TABLE queues (
  name                         text PRIMARY KEY
                               CONSTRAINT queues_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  display_name                 text NOT NULL DEFAULT '',
  strategy                     text NOT NULL DEFAULT 'LONGEST_IDLE_AGENT' CHECK (strategy IN
                               ('LONGEST_IDLE_AGENT','ROUND_ROBIN','FEWEST_CALLS','LEAST_TALK_TIME',
                                'RANDOM','TOP_DOWN','SKILLS_BASED')),
  answer_mode                  text NOT NULL DEFAULT 'ANSWER_IMMEDIATELY'
                               CHECK (answer_mode IN ('ANSWER_IMMEDIATELY','RING_UNTIL_AGENT')),
  ring_timeout_ms              int NOT NULL DEFAULT 20000 CHECK (ring_timeout_ms BETWEEN 1000 AND 300000),
  max_wait_ms                  int NOT NULL DEFAULT 0 CHECK (max_wait_ms BETWEEN 0 AND 86400000),
  max_waiting_calls            int NOT NULL DEFAULT 0 CHECK (max_waiting_calls BETWEEN 0 AND 100000),
  max_attempts                 int NOT NULL DEFAULT 0 CHECK (max_attempts BETWEEN 0 AND 1000),
  overflow_queue               text NOT NULL DEFAULT '',
  overflow_hangup_reason       text NOT NULL DEFAULT '',
  requeue_priority_boost       int NOT NULL DEFAULT 0 CHECK (requeue_priority_boost BETWEEN 0 AND 1000),
  priority_aging_per_second    double precision NOT NULL DEFAULT 0
                               CHECK (priority_aging_per_second BETWEEN 0 AND 1000),
  wrap_up_seconds              int NOT NULL DEFAULT -1 CHECK (wrap_up_seconds BETWEEN -1 AND 3600),
  service_level_threshold_ms   int NOT NULL DEFAULT 20000 CHECK (service_level_threshold_ms BETWEEN 1000 AND 3600000),
  no_answer_delay_ms           int NOT NULL DEFAULT 0 CHECK (no_answer_delay_ms BETWEEN 0 AND 3600000),
  busy_delay_ms                int NOT NULL DEFAULT 0 CHECK (busy_delay_ms BETWEEN 0 AND 3600000),
  reject_delay_ms              int NOT NULL DEFAULT 0 CHECK (reject_delay_ms BETWEEN 0 AND 3600000),
  auto_pause_after_no_answers  int NOT NULL DEFAULT 0 CHECK (auto_pause_after_no_answers BETWEEN 0 AND 100),
  weight                       int NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 100),
  music_prompts                text[] NOT NULL DEFAULT '{}',
  version                      bigint NOT NULL DEFAULT 1,
  created_at                   timestamptz NOT NULL DEFAULT now(),
  updated_at                   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT queues_overflow_one_target CHECK (overflow_queue = '' OR overflow_hangup_reason = ''),
  CONSTRAINT queues_overflow_not_self CHECK (overflow_queue <> name)
);

CREATE TABLE queue_required_skills (
  queue     text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
  skill     text NOT NULL CHECK (skill ~ '^[a-z0-9_-]{1,64}$'),
  min_level int  NOT NULL CHECK (min_level BETWEEN 1 AND 10),
  PRIMARY KEY (queue, skill)
);

CREATE TABLE dialplan (
  pattern text PRIMARY KEY CHECK (pattern ~ '^[A-Za-z0-9._+*#-]{1,64}$'),
  queue   text NOT NULL REFERENCES queues (name) ON DELETE CASCADE
);

-- Routing state of agents, kept by queue-service next to the status it drives.
ALTER TABLE agents
  ADD COLUMN active_calls int NOT NULL DEFAULT 0,
  ADD COLUMN idle_since timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN routing_not_before timestamptz NOT NULL DEFAULT '-infinity',
  ADD COLUMN consecutive_no_answers int NOT NULL DEFAULT 0,
  ADD COLUMN calls_answered bigint NOT NULL DEFAULT 0,
  ADD COLUMN talk_time_ms bigint NOT NULL DEFAULT 0,
  ADD COLUMN wrap_up_until timestamptz,
  ADD CONSTRAINT agents_active_calls_within_max
    CHECK (active_calls >= 0 AND active_calls <= max_calls);

ALTER TABLE agent_queue_memberships ADD COLUMN last_offered_at timestamptz;

-- An agent that becomes AVAILABLE starts idling now (longest-idle ordering); leaving
-- WRAP_UP any way clears the wrap-up deadline.
CREATE FUNCTION agents_routing_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NEW.status = 'AVAILABLE' THEN
      NEW.idle_since := NEW.status_changed_at;
    END IF;
    IF NEW.status <> 'WRAP_UP' THEN
      NEW.wrap_up_until := NULL;
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER agents_routing_on_status BEFORE UPDATE OF status ON agents
  FOR EACH ROW EXECUTE FUNCTION agents_routing_on_status();

-- Edges (signaling-edge instances) own the SIP dialogs of their calls; a silent edge's
-- calls are ended by the lease sweep.
CREATE TABLE edges (
  id             text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  last_seen      timestamptz NOT NULL,
  lease_until    timestamptz NOT NULL
);

CREATE TABLE calls (
  id                text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  queue             text NOT NULL,  -- no foreign key: the record outlives a deleted queue
  caller            text NOT NULL DEFAULT '',
  priority          int  NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000000 AND 1000000),
  state             text NOT NULL CHECK (state IN ('WAITING','OFFERED','CONNECTED','ENDED',
                                                   'ABANDONED','TIMED_OUT','OVERFLOWED','FAILED')),
  edge_id           text NOT NULL,
  agent_id          text,
  attempts          int  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  enqueued_at       timestamptz NOT NULL,   -- entered the engine
  queue_entered_at  timestamptz NOT NULL,   -- its place in the current queue
  not_before        timestamptz NOT NULL DEFAULT '-infinity',  -- offer retry back-off
  offered_at        timestamptz,
  connected_at      timestamptz,
  ended_at          timestamptz,
  outcome_reason    text NOT NULL DEFAULT '',
  overflowed_from   text NOT NULL DEFAULT '',
  assignment_id     bigint,
  version           bigint NOT NULL DEFAULT 1,
  CONSTRAINT calls_terminal_has_end CHECK
    ((state IN ('ENDED','ABANDONED','TIMED_OUT','OVERFLOWED','FAILED')) = (ended_at IS NOT NULL)),
  CONSTRAINT calls_connected_has_agent CHECK
    (state NOT IN ('OFFERED','CONNECTED') OR agent_id IS NOT NULL)
);
CREATE INDEX calls_waiting_idx ON calls (priority DESC, queue_entered_at) WHERE state = 'WAITING';
CREATE INDEX calls_live_by_edge_idx ON calls (edge_id) WHERE state IN ('WAITING','OFFERED','CONNECTED');
CREATE INDEX calls_ended_idx ON calls (queue, ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE assignments (
  id             bigserial PRIMARY KEY,
  call_id        text NOT NULL REFERENCES calls (id),
  agent_id       text NOT NULL,  -- no foreign key: the record outlives a deleted agent
  queue          text NOT NULL,
  edge_id        text NOT NULL,
  state          text NOT NULL CHECK (state IN ('OFFERED','CONNECTED','ENDED','FAILED','EXPIRED','WITHDRAWN')),
  attempt        int  NOT NULL,
  lease_deadline timestamptz NOT NULL,
  offered_at     timestamptz NOT NULL,
  connected_at   timestamptz,
  ended_at       timestamptz,
  outcome        text NOT NULL DEFAULT ''
);
-- A call is offered to at most one agent at a time ...
CREATE UNIQUE INDEX assignments_one_live_per_call ON assignments (call_id)
  WHERE state IN ('OFFERED','CONNECTED');
-- ... and an agent's phone rings for at most one call at a time.
CREATE UNIQUE INDEX assignments_one_ringing_per_agent ON assignments (agent_id)
  WHERE state = 'OFFERED';
CREATE INDEX assignments_live_lease_idx ON assignments (lease_deadline)
  WHERE state IN ('OFFERED','CONNECTED');
CREATE INDEX assignments_agent_idx ON assignments (agent_id, id);

-- agents.active_calls counts live assignments; with the CHECK above, no agent can hold more
-- than max_calls calls whatever the code does.
CREATE FUNCTION assignments_count_active() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_live boolean := TG_OP = 'UPDATE' AND OLD.state IN ('OFFERED','CONNECTED');
  is_live  boolean := NEW.state IN ('OFFERED','CONNECTED');
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.agent_id <> OLD.agent_id THEN
    RAISE EXCEPTION 'an assignment cannot change agent' USING ERRCODE = 'P0001';
  END IF;
  IF is_live AND NOT was_live THEN
    UPDATE agents SET active_calls = active_calls + 1 WHERE id = NEW.agent_id;
  ELSIF was_live AND NOT is_live THEN
    UPDATE agents SET active_calls = active_calls - 1 WHERE id = NEW.agent_id;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER assignments_count_active AFTER INSERT OR UPDATE OF state ON assignments
  FOR EACH ROW EXECUTE FUNCTION assignments_count_active();
