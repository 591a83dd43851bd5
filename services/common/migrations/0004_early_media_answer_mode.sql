-- A third answer mode: the caller gets 183 with the relay's SDP and hears the music as early
-- media, and 200 only when an agent answers.
ALTER TABLE queues DROP CONSTRAINT queues_answer_mode_check;
ALTER TABLE queues ADD CONSTRAINT queues_answer_mode_check
  CHECK (answer_mode IN ('ANSWER_IMMEDIATELY', 'RING_UNTIL_AGENT', 'EARLY_MEDIA'));
