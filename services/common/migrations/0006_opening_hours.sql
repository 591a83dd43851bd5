-- Opening hours of a queue (and of a dialled number, checked before its queue's): weekly hours and dates in the queue's IANA time zone (checked by
-- queue-service, which evaluates them on its clock), and what happens to a caller who arrives
-- while it is closed: the prompts played, then another queue or the end with a reason.
ALTER TABLE queues
  ADD COLUMN hours_time_zone text NOT NULL DEFAULT '',
  ADD COLUMN hours_weekly text[] NOT NULL DEFAULT '{}',
  ADD COLUMN hours_dates text[] NOT NULL DEFAULT '{}',
  ADD COLUMN closed_queue text NOT NULL DEFAULT '',
  ADD COLUMN closed_hangup_reason text NOT NULL DEFAULT '',
  ADD COLUMN closed_prompts text[] NOT NULL DEFAULT '{}';
ALTER TABLE dialplan
  ADD COLUMN hours_time_zone text NOT NULL DEFAULT '',
  ADD COLUMN hours_weekly text[] NOT NULL DEFAULT '{}',
  ADD COLUMN hours_dates text[] NOT NULL DEFAULT '{}',
  ADD COLUMN closed_queue text NOT NULL DEFAULT '',
  ADD COLUMN closed_hangup_reason text NOT NULL DEFAULT '',
  ADD COLUMN closed_prompts text[] NOT NULL DEFAULT '{}';
