-- IVR menus: what a caller who dialled a number of the dialplan hears and can choose before
-- entering a queue. A menu says its prompts, then waits for a key (options) or reads digits
-- (a collection, stored on the call). Actions are rows keyed by their slot, so the database
-- keeps every reference whole: a menu's queue or submenu cannot be deleted while used.
CREATE TABLE ivr_menus (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  prompts text[] NOT NULL DEFAULT '{}',
  timeout_ms integer NOT NULL DEFAULT 5000,
  max_attempts integer NOT NULL DEFAULT 3,
  invalid_prompts text[] NOT NULL DEFAULT '{}',
  timeout_prompts text[] NOT NULL DEFAULT '{}',
  language text NOT NULL DEFAULT '',
  -- A digit collection instead of options, when collect_name is set.
  collect_name text NOT NULL DEFAULT '',
  collect_min integer NOT NULL DEFAULT 1,
  collect_max integer NOT NULL DEFAULT 20,
  collect_terminator text NOT NULL DEFAULT '#',
  collect_timeout_ms integer NOT NULL DEFAULT 5000,
  version bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- slot: a key ('0'-'9', '*', '#'), 'failure' (retries used up) or 'then' (after a collection).
CREATE TABLE ivr_actions (
  menu text NOT NULL REFERENCES ivr_menus (name) ON DELETE CASCADE,
  slot text NOT NULL CHECK (slot ~ '^([0-9*#]|failure|then)$'),
  kind text NOT NULL CHECK (kind IN ('queue', 'menu', 'repeat', 'hangup', 'transfer', 'callback')),
  queue text REFERENCES queues (name) DEFERRABLE INITIALLY DEFERRED,
  target_menu text REFERENCES ivr_menus (name) DEFERRABLE INITIALLY DEFERRED,
  priority integer NOT NULL DEFAULT 0,
  skills text[] NOT NULL DEFAULT '{}',  -- "name:min_level", besides the queue's own
  language_skill boolean NOT NULL DEFAULT false,
  prompts text[] NOT NULL DEFAULT '{}',
  reason text NOT NULL DEFAULT '',
  uri text NOT NULL DEFAULT '',
  language text NOT NULL DEFAULT '',
  PRIMARY KEY (menu, slot),
  CHECK ((kind IN ('queue', 'callback')) = (queue IS NOT NULL)),
  CHECK ((kind = 'menu') = (target_menu IS NOT NULL))
);
CREATE INDEX ivr_actions_queue ON ivr_actions (queue) WHERE queue IS NOT NULL;
CREATE INDEX ivr_actions_target ON ivr_actions (target_menu) WHERE target_menu IS NOT NULL;

-- A dialled number leads to a queue or to a menu.
ALTER TABLE dialplan
  ALTER COLUMN queue DROP NOT NULL,
  ADD COLUMN menu text REFERENCES ivr_menus (name),
  ADD CONSTRAINT dialplan_queue_or_menu CHECK ((queue IS NULL) <> (menu IS NULL));

-- What a menu gathered on the way into the queue: digits ("name=value"), skills the call
-- requires besides its queue's ("name:min_level"), and the caller's language.
ALTER TABLE calls
  ADD COLUMN data text[] NOT NULL DEFAULT '{}',
  ADD COLUMN extra_skills text[] NOT NULL DEFAULT '{}',
  ADD COLUMN language text NOT NULL DEFAULT '';
