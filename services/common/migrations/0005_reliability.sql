-- Queue join and stay rules, the re-offer delay after an agent's phone failed a call, and
-- which agent last failed each call (the router passes over it while another can answer).

ALTER TABLE queues
  ADD COLUMN join_empty text NOT NULL DEFAULT 'ROUTABLE'
    CONSTRAINT queues_join_empty_rule CHECK (join_empty IN ('ROUTABLE','LOGGED_IN','ALWAYS')),
  ADD COLUMN leave_empty text NOT NULL DEFAULT 'ROUTABLE'
    CONSTRAINT queues_leave_empty_rule CHECK (leave_empty IN ('ROUTABLE','LOGGED_IN','ALWAYS')),
  ADD COLUMN reoffer_delay_ms int NOT NULL DEFAULT 5000
    CONSTRAINT queues_reoffer_delay_range CHECK (reoffer_delay_ms BETWEEN 0 AND 3600000);

ALTER TABLE calls
  ADD COLUMN last_failed_agent text NOT NULL DEFAULT '',
  ADD COLUMN avoid_agent_until timestamptz;
