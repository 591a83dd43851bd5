-- Blind transfers of a connected call: from the agent's phone (REFER) or from the API, to a
-- queue (the caller keeps the place their first wait gave them), to a named agent, or back.
-- Each transfer is a row, so a call's record shows its chain of agent legs: who transferred
-- to whom, when, and how it went. While a transfer is PENDING the call waits (or is offered)
-- again; its result follows the call's next step, whatever path takes it there. A transfer
-- to a named agent is offered to that agent in the same transaction (never left to the
-- router); should that offer fail, the call goes back to the first agent or to its queue.
CREATE TABLE call_transfers (
  id              bigserial PRIMARY KEY,
  call_id         text NOT NULL REFERENCES calls (id),
  from_assignment bigint NOT NULL UNIQUE,  -- the agent leg it ended: a repeated request finds it
  from_agent      text NOT NULL,
  target_kind     text NOT NULL CHECK (target_kind IN ('QUEUE','AGENT')),
  target          text NOT NULL,
  from_queue      text NOT NULL,
  on_failure      text NOT NULL CHECK (on_failure IN ('RETURN_TO_AGENT','QUEUE')),
  requested_by    text NOT NULL DEFAULT '',
  requested_at    timestamptz NOT NULL,
  result          text NOT NULL DEFAULT 'PENDING'
                  CHECK (result IN ('PENDING','COMPLETED','RETURNED','FAILED')),
  to_agent        text NOT NULL DEFAULT '',  -- who took the call (COMPLETED) or got it back
  finished_at     timestamptz,
  detail          text NOT NULL DEFAULT '',
  CONSTRAINT call_transfers_finished CHECK ((result = 'PENDING') = (finished_at IS NULL))
);
CREATE INDEX call_transfers_call_idx ON call_transfers (call_id, id);
CREATE UNIQUE INDEX call_transfers_one_pending ON call_transfers (call_id) WHERE result = 'PENDING';

-- A pending transfer is over when the call is connected again (to whom) or ends, whichever
-- path (an answer, an abandon, a lost edge, a sweep) takes it there.
CREATE FUNCTION calls_settle_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = OLD.state THEN
    RETURN NEW;
  END IF;
  IF NEW.state = 'CONNECTED' THEN
    UPDATE call_transfers SET result = 'COMPLETED', to_agent = NEW.agent_id,
           finished_at = NEW.connected_at
     WHERE call_id = NEW.id AND result = 'PENDING';
  ELSIF NEW.ended_at IS NOT NULL THEN
    UPDATE call_transfers SET result = 'FAILED', finished_at = NEW.ended_at,
           detail = left(NEW.state || ': ' || NEW.outcome_reason, 200)
     WHERE call_id = NEW.id AND result = 'PENDING';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER calls_settle_transfer BEFORE UPDATE OF state ON calls
  FOR EACH ROW EXECUTE FUNCTION calls_settle_transfer();
