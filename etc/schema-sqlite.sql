-- SPDX-License-Identifier: MIT
-- pd's default SQLite user table (DESIGN §3).  The sqlite driver's default
-- query reads exactly these columns; a site's own query may read any table,
-- as long as its result columns carry these names (use AS).
CREATE TABLE IF NOT EXISTS users (
  user     TEXT PRIMARY KEY,            -- canonical login name
  password TEXT NOT NULL,               -- {SCHEME}hash, e.g. {SHA512-CRYPT}$6$...
  uid      INTEGER NOT NULL,            -- system uid the mail server runs as
  gid      INTEGER NOT NULL,
  home     TEXT NOT NULL,               -- absolute home directory
  mail     TEXT NOT NULL DEFAULT '',    -- maildir path; '' = <home>/Maildir
  mailhost TEXT NOT NULL DEFAULT '',    -- '' = this host
  backend  TEXT NOT NULL DEFAULT '',    -- '' = default_backend
  quota    TEXT NOT NULL DEFAULT '',
  status   TEXT NOT NULL DEFAULT 'active',  -- anything else refuses the login
  extra    TEXT NOT NULL DEFAULT ''     -- space-separated key=value, passed to the mail server
);
