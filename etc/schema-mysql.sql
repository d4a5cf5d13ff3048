-- SPDX-License-Identifier: MIT
-- pd's default MySQL/MariaDB user table (DESIGN §3): the mysql driver's
-- default query reads exactly these columns; a site's own query may read
-- any table whose result columns carry these names (use AS).
CREATE TABLE IF NOT EXISTS users (
  user     VARCHAR(255) NOT NULL PRIMARY KEY,  -- canonical login name
  password VARCHAR(255) NOT NULL,              -- {SCHEME}hash
  uid      INT UNSIGNED NOT NULL,
  gid      INT UNSIGNED NOT NULL,
  home     VARCHAR(1024) NOT NULL,
  mail     VARCHAR(1024) NOT NULL DEFAULT '',  -- maildir; '' = <home>/Maildir
  mailhost VARCHAR(255) NOT NULL DEFAULT '',   -- '' = this host
  backend  VARCHAR(255) NOT NULL DEFAULT '',   -- '' = default_backend
  quota    VARCHAR(64) NOT NULL DEFAULT '',
  status   VARCHAR(32) NOT NULL DEFAULT 'active',
  extra    VARCHAR(2048) NOT NULL DEFAULT ''   -- space-separated key=value
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
-- pd only reads:  GRANT SELECT ON mail.users TO 'pd'@'10.0.0.%' IDENTIFIED BY '...';
