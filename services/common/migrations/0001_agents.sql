-- Agents, their skills, queue memberships, SIP bindings and the status audit trail.
-- The status machine lives in agent_status_transitions; a trigger refuses any other change
-- and writes the audit row, so every writer (agent-registry, queue-service, psql) obeys it.

CREATE TABLE agent_status_transitions (
  from_status text NOT NULL,
  to_status   text NOT NULL,
  PRIMARY KEY (from_status, to_status)
);

INSERT INTO agent_status_transitions (from_status, to_status) VALUES
  ('LOGGED_OUT', 'AVAILABLE'),
  ('LOGGED_OUT', 'PAUSED'),
  ('AVAILABLE',  'RESERVED'),
  ('AVAILABLE',  'PAUSED'),
  ('AVAILABLE',  'LOGGED_OUT'),
  ('RESERVED',   'ON_CALL'),
  ('RESERVED',   'AVAILABLE'),
  ('RESERVED',   'PAUSED'),
  ('ON_CALL',    'WRAP_UP'),
  ('ON_CALL',    'AVAILABLE'),
  ('WRAP_UP',    'AVAILABLE'),
  ('WRAP_UP',    'PAUSED'),
  ('WRAP_UP',    'LOGGED_OUT'),
  ('PAUSED',     'AVAILABLE'),
  ('PAUSED',     'LOGGED_OUT');

CREATE TABLE agents (
  id                text PRIMARY KEY
                    CONSTRAINT agents_id_format CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  display_name      text NOT NULL CONSTRAINT agents_display_name_length
                    CHECK (length(display_name) BETWEEN 1 AND 128),
  sip_username      text NOT NULL CONSTRAINT agents_sip_username_format
                    CHECK (sip_username ~ '^[A-Za-z0-9._~+-]{1,64}$'),
  realm             text NOT NULL CHECK (length(realm) BETWEEN 1 AND 255),
  ha1               text NOT NULL CONSTRAINT agents_ha1_format CHECK (ha1 ~ '^[0-9a-f]{32}$'),
  max_calls         int  NOT NULL DEFAULT 1 CHECK (max_calls BETWEEN 1 AND 20),
  wrap_up_seconds   int  NOT NULL DEFAULT 0 CHECK (wrap_up_seconds BETWEEN 0 AND 3600),
  status            text NOT NULL DEFAULT 'LOGGED_OUT' CONSTRAINT agents_status_known
                    CHECK (status IN ('LOGGED_OUT','AVAILABLE','RESERVED','ON_CALL','WRAP_UP','PAUSED')),
  pause_reason      text NOT NULL DEFAULT '',
  status_reason     text NOT NULL DEFAULT '',  -- why the last change happened (copied to audit)
  status_call_id    text NOT NULL DEFAULT '',  -- the call behind the last change, if any
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  version           bigint NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT agents_sip_username_unique UNIQUE (sip_username),
  CONSTRAINT agents_pause_reason_iff_paused CHECK ((status = 'PAUSED') = (pause_reason <> ''))
);
CREATE INDEX agents_status_idx ON agents (status);

CREATE TABLE agent_skills (
  agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  skill    text NOT NULL CONSTRAINT agent_skills_name_format CHECK (skill ~ '^[a-z0-9_-]{1,64}$'),
  level    int  NOT NULL CONSTRAINT agent_skills_level_range CHECK (level BETWEEN 1 AND 10),
  PRIMARY KEY (agent_id, skill)
);

CREATE TABLE agent_queue_memberships (
  agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  queue    text NOT NULL CONSTRAINT agent_queue_memberships_queue_format
           CHECK (queue ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  position int  NOT NULL DEFAULT 0 CHECK (position BETWEEN 0 AND 10000),
  PRIMARY KEY (agent_id, queue)
);
CREATE INDEX agent_queue_memberships_queue_idx ON agent_queue_memberships (queue, position);

CREATE TABLE agent_bindings (
  id             bigserial PRIMARY KEY,
  agent_id       text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  contact_uri    text NOT NULL CHECK (length(contact_uri) BETWEEN 1 AND 1024),
  contact_host   text NOT NULL CHECK (contact_host <> ''),
  contact_port   int  NOT NULL CHECK (contact_port BETWEEN 1 AND 65535),
  transport      text NOT NULL CHECK (transport IN ('UDP','TCP','TLS')),
  source_address text NOT NULL DEFAULT '',
  source_port    int  NOT NULL DEFAULT 0 CHECK (source_port BETWEEN 0 AND 65535),
  user_agent     text NOT NULL DEFAULT '',
  registrar_id   text NOT NULL DEFAULT '',
  sip_call_id    text NOT NULL DEFAULT '',
  cseq           bigint NOT NULL DEFAULT 0,
  expires_at     timestamptz NOT NULL,
  registered_at  timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  CONSTRAINT agent_bindings_contact_unique UNIQUE (agent_id, contact_uri)
);
CREATE INDEX agent_bindings_expires_idx ON agent_bindings (expires_at);

CREATE TABLE agent_status_audit (
  id          bigserial PRIMARY KEY,
  agent_id    text NOT NULL,  -- no foreign key: the trail outlives a deleted agent
  from_status text NOT NULL,
  to_status   text NOT NULL,
  reason      text NOT NULL,
  call_id     text NOT NULL DEFAULT '',
  at          timestamptz NOT NULL
);
CREATE INDEX agent_status_audit_agent_idx ON agent_status_audit (agent_id, id);

CREATE FUNCTION agents_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT EXISTS (SELECT 1 FROM agent_status_transitions
                   WHERE from_status = OLD.status AND to_status = NEW.status) THEN
      RAISE EXCEPTION 'illegal agent status transition % -> % for agent %',
        OLD.status, NEW.status, OLD.id USING ERRCODE = 'P0001';
    END IF;
    IF NEW.status_changed_at IS NOT DISTINCT FROM OLD.status_changed_at THEN
      NEW.status_changed_at := now();
    END IF;
  END IF;
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;

CREATE TRIGGER agents_guard_status BEFORE UPDATE ON agents
  FOR EACH ROW EXECUTE FUNCTION agents_guard_status();

CREATE FUNCTION agents_audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_status_audit (agent_id, from_status, to_status, reason, call_id, at)
  VALUES (NEW.id, OLD.status, NEW.status, NEW.status_reason, NEW.status_call_id,
          NEW.status_changed_at);
  RETURN NULL;
END $$;

CREATE TRIGGER agents_audit_status AFTER UPDATE OF status ON agents
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION agents_audit_status();
