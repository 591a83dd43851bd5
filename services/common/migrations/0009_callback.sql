-- The callback that keeps the caller's place: per queue, whether callers may ask for it (a
-- key while waiting, offered after a wait), where customers are called (a trunk or proxy),
-- how long their phone rings and how often it is tried. A call asked to be called back stays
-- in its queue with the number to call and no edge (the caller hung up); the edge an offer
-- goes to calls the agent first, then the customer.
ALTER TABLE queues
  ADD COLUMN cb_enabled boolean NOT NULL DEFAULT false,
  ADD COLUMN cb_offer_after_ms integer NOT NULL DEFAULT 0,
  ADD COLUMN cb_key text NOT NULL DEFAULT '1',
  ADD COLUMN cb_trunk text NOT NULL DEFAULT '',
  ADD COLUMN cb_ring_timeout_ms integer NOT NULL DEFAULT 30000,
  ADD COLUMN cb_max_attempts integer NOT NULL DEFAULT 3,
  ADD COLUMN cb_retry_delay_ms integer NOT NULL DEFAULT 60000;

ALTER TABLE calls
  ADD COLUMN callback_number text NOT NULL DEFAULT '',
  ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0;

-- More closed actions, for queues and dialled numbers: an IVR menu, a SIP URI the caller is
-- redirected to (302), or a callback at the next opening.
ALTER TABLE queues
  ADD COLUMN closed_menu text REFERENCES ivr_menus (name),
  ADD COLUMN closed_uri text NOT NULL DEFAULT '',
  ADD COLUMN closed_callback boolean NOT NULL DEFAULT false;
ALTER TABLE dialplan
  ADD COLUMN closed_menu text REFERENCES ivr_menus (name),
  ADD COLUMN closed_uri text NOT NULL DEFAULT '',
  ADD COLUMN closed_callback boolean NOT NULL DEFAULT false;
