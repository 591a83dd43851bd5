-- The audit row of a status change is written by the BEFORE trigger, which also keeps its id
-- on the agent row (status_audit_id), so a writer learns it from UPDATE ... RETURNING in the
-- same round trip instead of a second query.

ALTER TABLE agents ADD COLUMN status_audit_id bigint NOT NULL DEFAULT 0;

DROP TRIGGER agents_audit_status ON agents;
DROP FUNCTION agents_audit_status();

CREATE OR REPLACE FUNCTION agents_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO agent_status_audit (agent_id, from_status, to_status, reason, call_id, at)
    VALUES (NEW.id, OLD.status, NEW.status, NEW.status_reason, NEW.status_call_id,
            NEW.status_changed_at)
    RETURNING id INTO NEW.status_audit_id;
  END IF;
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;
