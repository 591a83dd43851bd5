-- What a waiting caller of a queue hears besides the music: a greeting on entry, periodic
-- announcements with the caller's position and estimated wait (the edge plays them; the
-- relay's prompts compose them).
ALTER TABLE queues
  ADD COLUMN ann_greeting text[] NOT NULL DEFAULT '{}',
  ADD COLUMN ann_first_after_ms integer NOT NULL DEFAULT 30000,
  ADD COLUMN ann_every_ms integer NOT NULL DEFAULT 0,
  ADD COLUMN ann_periodic text[] NOT NULL DEFAULT '{}',
  ADD COLUMN ann_position boolean NOT NULL DEFAULT false,
  ADD COLUMN ann_estimated_wait boolean NOT NULL DEFAULT false,
  ADD COLUMN ann_language text NOT NULL DEFAULT 'en',
  ADD COLUMN ann_all_busy boolean NOT NULL DEFAULT false;
