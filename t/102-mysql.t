#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# The mysql auth driver (pd_auth_mysql.so) against a real, private MariaDB:
# IMAP and POP3 logins through stdio and inetd over TCP and over the Unix
# socket, with {SHA512-CRYPT} and {SSHA256} hashes in the users table of
# etc/schema-mysql.sql; wrong password, unknown user and disabled status;
# SQL injection in the login (the general query log shows the login arrives
# as a bound parameter); a site query with aliased columns; the mailhost
# and backend columns steering dispatch; TLS to the server verified with
# the test CA; the server going away (killed connection, wait_timeout,
# stop) and coming back; timeouts; configuration and module errors.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw(copy);
use File::Path qw(make_path);
use IO::Socket::INET;
use Mail::IMAPClient;
use Net::POP3;
use Test::More;
use Time::HiRes qw(time sleep);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;
use PD::Test::MySQL qw(:all);

my $dir = testdir();
my $T0 = time;

mysql_start();
my $tls = mysql_tls();

my $BASE_CONF = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 30
max_bad_commands = 20
auth_failure_delay = 0

[backend dovecot]
imap = %%IMAP%%
pop3 = /usr/lib/dovecot/pop3

[tls]
plaintext_auth = allow
EOF

sub conf {
	my ($name, %auth) = @_;
	my $imap = delete $auth{_imap} // $PD::Test::DOVECOT_IMAP;
	return write_conf($BASE_CONF . "\n" . mysql_auth_section(%auth), file => "$name.conf",
			  IMAP => $imap);
}

# --- the database ---------------------------------------------------------------------

mkdir "$dir/mail", 0755;
make_path("$dir/mail/bob");
chown 5001, 5001, "$dir/mail/bob";
my %u = (
	alice => { user => 'alice', password => 'Alice-sql-pw-1' },
	bob => { user => 'bob', password => 'Bob-sql-pw-2', scheme => 'SSHA256', uid => 5001,
		 mail => "$dir/mail/bob/box", mailhost => 'test.local', backend => 'dovecot' },
	carol => { user => 'carol', password => 'Carol-sql-pw-3', status => 'disabled' },
	remy => { user => 'remy', password => 'Remy-sql-pw-4', mailhost => 'mx9.example.org' },
	xavier => { user => 'xavier', password => 'Xavier-sql-pw-5', backend => 'exchange' },
	erin => { user => 'erin', password => 'Erin-sql-pw-6', scheme => 'SSHA512',
		  extra => 'PD_DEPT=sales' },
	# UTF-8 in the name and the home: the connection must speak utf8mb4
	joerg => { user => "j\xc3\xb6rg", password => 'Joerg-sql-pw-9', home_name => "j\xc3\xb6rg" },
);
mysql_add_users(map { $u{$_} } sort keys %u);

# a site's own table, read through a query with aliases
mysql_sql(<<'EOF');
CREATE TABLE accounts (
  login VARCHAR(64) NOT NULL PRIMARY KEY,
  pw_hash VARCHAR(255) NOT NULL,
  u INT UNSIGNED NOT NULL,
  g INT UNSIGNED NOT NULL,
  dir VARCHAR(255) NOT NULL,
  active TINYINT NOT NULL DEFAULT 1,
  color VARCHAR(32) NULL
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
EOF
my %q = (
	quinn => { user => 'quinn', password => 'Quinn-sql-pw-7', scheme => 'SSHA256', uid => 5001 },
	quentin => { user => 'quentin', password => 'Quentin-sql-pw-8' },
);
for my $k (sort keys %q) {
	my $r = mysql_user_row($q{$k});
	mysql_sql(sprintf("INSERT INTO accounts (login, pw_hash, u, g, dir, active, color) VALUES "
			  . "(%s, %s, %d, %d, %s, %d, %s);\n", mysql_quote($r->{user}),
			  mysql_quote($r->{password}), $r->{uid}, $r->{gid}, mysql_quote($r->{home}),
			  $k eq 'quinn' ? 1 : 0, $k eq 'quinn' ? "'blue'" : 'NULL'));
}
my $CUSTOM_QUERY = 'SELECT login AS user, pw_hash AS password, u AS uid, g AS gid, dir AS home, '
	. "CASE WHEN active = 1 THEN 'active' ELSE 'disabled' END AS status, "
	. 'NULL AS mail, color AS PD_COLOR FROM accounts WHERE login = ?';

my $WRONG = 'Wrong-sql-pw-99';
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $FAILED = 'NO [AUTHENTICATIONFAILED] Authentication failed.';
my $TEMPFAIL = 'NO [UNAVAILABLE] Temporary authentication failure, try again later.';
my $POP_TEMPFAIL = '-ERR [SYS/TEMP] Temporary authentication failure, try again later.';

my $conf = conf('pd');
my $sconf = conf('socket', host => undef, port => undef, socket => mysql_socket());

sub imap {
	my ($cf) = @_;
	my ($s, $pid) = stdio_session($cf // $conf, 'imap');
	my $c = PD::Test::IMAP->new($s, timeout => 10);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub dovecot_of {
	my ($c) = @_;
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
	return $b[0];
}

sub no_backend {
	my ($c) = @_;
	return !grep { $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid});
}

sub tempfail_log {
	my ($user, $mark) = @_;
	return wait_for_log(qr/auth-failed user="\Q$user\E".*reason=tempfail/, 5, $mark) // '';
}

# The connections of MariaDB user WHO right now.
sub connections_of {
	my ($who) = @_;
	return split /\n/, mysql_sql("SELECT id FROM information_schema.processlist WHERE user = '$who';");
}

# --- TCP and socket ---------------------------------------------------------------------

{
	my $mark = log_mark();
	my $gmark = mysql_general_mark();
	my $c = imap();
	like($c->{greeting} // '', qr/^\* OK /, 'greeting');
	is(scalar(connections_of('pd')), 0, 'no database connection before a login (lazy)');
	like(scalar $c->cmd("a1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'TCP: alice ({SHA512-CRYPT}) logs in, answered by Dovecot');
	my $p = dovecot_of($c);
	is_deeply([@{($p // {})->{uid} // []}[0 .. 2]], [5000, 5000, 5000], 'Dovecot runs as uid 5000');
	like(scalar $c->cmd('a2 SELECT INBOX') // '', qr/^a2 OK \[READ-WRITE\]/, 'SELECT INBOX');
	ok(wait_for_event('imap login', { user => 'alice', backend => 'dovecot' }, 5, $mark),
	   'log: imap login user=alice backend=dovecot');
	my @g = mysql_general_lines(qr/\sConnect\s+pd\@/, $gmark);
	like($g[0] // '', qr/Connect\s+pd\@127\.0\.0\.1 on mail using TCP\/IP/,
	     'connected as pd over TCP/IP') or diag(join "\n", @g);
	ok(mysql_general_lines(qr/\sPrepare\s+SELECT user, password, uid, gid, home, mail, mailhost, backend, quota, status, extra FROM users WHERE user = \?/, $gmark),
	   'the default query, prepared');
	$c->cmd('a3 LOGOUT');
}

{
	my $mark = log_mark();
	my $gmark = mysql_general_mark();
	my $c = imap($sconf);
	like(scalar $c->cmd("b1 LOGIN Bob $u{bob}{password}") // '', $LOGGED_IN,
	     'socket: bob ({SSHA256}, mailhost = this host, backend dovecot) logs in as Bob');
	my $p = dovecot_of($c);
	is_deeply([@{($p // {})->{uid} // []}[0 .. 2]], [5001, 5001, 5001], 'Dovecot runs as 5001');
	ok(-d "$u{bob}{maildir}/$_", "maildir $_/ at the mail column") for qw(cur new tmp);
	ok(wait_for_event('imap login', { user => 'bob' }, 5, $mark), 'log: user=bob (lower-cased)');
	my @g = mysql_general_lines(qr/\sConnect\s+pd\@/, $gmark);
	like($g[0] // '', qr/Connect\s+pd\@localhost .*using Socket/, 'connected over the socket')
		or diag(join "\n", @g);
	$c->cmd('b2 LOGOUT');
}

{
	my $mark = log_mark();
	my $c = imap();
	my $l = $u{joerg}{user};
	$c->send_raw("j1 LOGIN {" . length($l) . "+}\r\n$l $u{joerg}{password}\r\n");
	like(scalar $c->tagged('j1') // '', $LOGGED_IN, 'UTF-8 login "j\xc3\xb6rg" logs in')
		or diag(log_text($mark));
	my $p = dovecot_of($c);
	is(readlink("/proc/$p->{pid}/cwd"), $u{joerg}{home},
	   'Dovecot runs in the UTF-8 home, byte for byte') if $p;
	ok(-d "$u{joerg}{home}/Maildir/new", 'maildir made under the UTF-8 home');
	$c->cmd('j2 LOGOUT');
	$mark = log_mark();
	$c = imap();
	$c->send_raw("j3 LOGIN {4+}\r\nj\xf6rg $u{joerg}{password}\r\n");
	is(scalar $c->tagged('j3'), "j3 $FAILED", 'latin-1 "j\xf6rg": Authentication failed');
	$c->send_raw("j4 LOGIN {2+}\r\n\xff\xfe $WRONG\r\n");
	is(scalar $c->tagged('j4'), "j4 $FAILED", 'bytes ff fe: Authentication failed');
	ok(!wait_for_log(qr/reason=tempfail/, 0.2, $mark), 'no tempfail') or diag(log_text($mark));
}

# --- failures ------------------------------------------------------------------------

{
	my $mark = log_mark();
	my $c = imap();
	is(scalar $c->cmd("f1 LOGIN alice $WRONG"), "f1 $FAILED", 'wrong password');
	is(scalar $c->cmd("f2 LOGIN nosuchuser $WRONG"), "f2 $FAILED", 'unknown user: the same reply');
	is(scalar $c->cmd("f3 LOGIN carol $u{carol}{password}"),
	   'f3 NO [AUTHENTICATIONFAILED] Account is disabled.', 'status = disabled: refused');
	is(scalar $c->cmd("f4 LOGIN carol $WRONG"), "f4 $FAILED", 'disabled, wrong password: not told');
	ok(no_backend($c), 'no backend started');
	ok(wait_for_event('imap auth-failed', { user => 'alice', reason => 'password-mismatch' }, 5, $mark),
	   'log: reason=password-mismatch');
	ok(wait_for_event('imap auth-failed', { user => 'nosuchuser', reason => 'unknown-user' }, 5, $mark),
	   'log: reason=unknown-user');
	ok(wait_for_event('imap auth-failed', { user => 'carol', reason => 'disabled' }, 5, $mark),
	   'log: reason=disabled');
	like(scalar $c->cmd("f5 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'the same session (one connection, the statement reused) logs in after the failures');
	$c->cmd('f6 LOGOUT');
}

# --- SQL injection ------------------------------------------------------------------------

{
	my $mark = log_mark();
	my $gmark = mysql_general_mark();
	my $c = imap();
	# with spaces (pd refuses such a login name before any lookup) and without
	my @inj = ("' OR 1=1 --", "alice' -- ", "x' OR 'a'='a",
		   "x'OR'a'='a", "alice'#", "alice'--", "'OR''='", "alice'/*", "%");
	my $i = 0;
	for my $login (@inj) {
		$i++;
		(my $q = $login) =~ s/(["\\])/\\$1/g;
		is(scalar $c->cmd(qq{i$i LOGIN "$q" "$u{alice}{password}"}), "i$i $FAILED",
		   "login \"$login\" with alice's password: Authentication failed");
	}
	ok(no_backend($c), 'nobody logged in');
	for my $login (@inj) {
		ok(wait_for_event('imap auth-failed', { user => $login, reason => 'unknown-user' }, 5, $mark),
		   "log: user=\"$login\" reason=unknown-user");
	}
	# the space-free ones reached the server, as a parameter of the prepared
	# statement: the general log shows it quoted by the server
	my @ex = mysql_general_lines(qr/\sExecute\s/, $gmark);
	ok(grep({ /WHERE user = 'x\\'or\\'a\\'=\\'a'/ } @ex), "x'OR'a'='a arrives as one quoted value")
		or diag(join "\n", @ex);
	ok(grep({ /WHERE user = 'alice\\'#'/ } @ex), "alice'# too") or diag(join "\n", @ex);
	ok(!grep({ /Query\s.*WHERE user/ } mysql_general_lines(qr/\sQuery\s/, $gmark, 0.1)),
	   'never a plain query with the login pasted in');
	my $long = "'" x 256;
	is(scalar $c->cmd(qq{i8 LOGIN "$long" "$WRONG"}), "i8 $FAILED", "a 256-byte login of \"'\": refused");
	like(scalar $c->cmd("i9 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN, 'then alice logs in');
	$c->cmd('i10 LOGOUT');
}

# --- dispatch: mailhost and backend columns ----------------------------------------------

{
	my $mark = log_mark();
	my $c = imap();
	is(scalar $c->cmd("m1 LOGIN remy $u{remy}{password}"), "m1 $TEMPFAIL",
	   'mailhost of another host: NO [UNAVAILABLE]');
	ok(no_backend($c), 'not served here');
	like(wait_for_log(qr/dispatch-failed user=remy/, 5, $mark) // '',
	     qr/lives on mailhost mx9\.example\.org, not on test\.local/,
	     'log: dispatch-failed ... lives on mailhost mx9.example.org, not on test.local');
	$c = imap();
	is(scalar $c->cmd("x1 LOGIN xavier $u{xavier}{password}"), "x1 $TEMPFAIL",
	   'backend "exchange": NO [UNAVAILABLE]');
	like(wait_for_log(qr/dispatch-failed user=xavier/, 5, $mark) // '',
	     qr/unknown backend 'exchange'/, "log: unknown backend 'exchange'");
	ok(no_backend($c), 'no backend started');
}

# --- a site query: aliased columns, NULLs, extra columns into the environment --------------

my $envdir = "$dir/backend-env";
make_path($envdir);
chmod 01777, $envdir;
my $rec = write_file('bin/record-env-imap',
		     "#!/bin/sh\nenv > $envdir/\$\$\nexec $PD::Test::DOVECOT_IMAP \"\$@\"\n", 0755);

sub backend_env_of {
	my ($c) = @_;
	my $p = dovecot_of($c) or return {};
	my $f = "$envdir/$p->{pid}";
	my $end = time + 3;
	sleep 0.05 until -s $f || time > $end;
	return { map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, read_file($f) // '' };
}

{
	my $cf = conf('custom', query => $CUSTOM_QUERY, _imap => $rec);
	my $mark = log_mark();
	my $c = imap($cf);
	like(scalar $c->cmd("q1 LOGIN quinn $q{quinn}{password}") // '', $LOGGED_IN,
	     'custom query with aliased columns: quinn logs in');
	my $p = dovecot_of($c);
	is_deeply([@{($p // {})->{uid} // []}[0 .. 2]], [5001, 5001, 5001], 'uid from "u AS uid"');
	my $env = backend_env_of($c);
	is($env->{HOME}, $q{quinn}{home}, 'HOME from "dir AS home"');
	is($env->{MAIL}, "maildir:$q{quinn}{home}/Maildir", 'NULL AS mail: the default maildir')
		or diag(join ' ', map { "$_=$env->{$_}" } sort keys %$env);
	is($env->{PD_COLOR}, 'blue', 'a column with another name (color AS PD_COLOR) is in the environment');
	$c->cmd('q2 LOGOUT');

	$c = imap($cf);
	is(scalar $c->cmd("q3 LOGIN quentin $q{quentin}{password}"),
	   'q3 NO [AUTHENTICATIONFAILED] Account is disabled.', 'custom query: CASE ... AS status disables');
	is(scalar $c->cmd("q4 LOGIN alice $u{alice}{password}"), "q4 $FAILED",
	   'custom query: users of the other table are unknown');

	$c = imap(conf('extra', _imap => $rec));
	like(scalar $c->cmd("e1 LOGIN erin $u{erin}{password}") // '', $LOGGED_IN, 'erin ({SSHA512})');
	is(backend_env_of($c)->{PD_DEPT}, 'sales', 'the extra column: PD_DEPT=sales in the environment');
	$c->cmd('e2 LOGOUT');
}

{
	my $mark = log_mark();
	my $c = imap(conf('twoq', query => 'SELECT user, password FROM users WHERE user = ? OR user = ?'));
	is(scalar $c->cmd("q5 LOGIN alice $u{alice}{password}"), "q5 $TEMPFAIL",
	   'a query with two ?: temporary failure');
	like(tempfail_log('alice', $mark), qr/exactly one '\?'/, "log: query must have exactly one '?'");
	$mark = log_mark();
	$c = imap(conf('badq', query => 'SELEKT user FROM users WHERE user = ?'));
	is(scalar $c->cmd("q6 LOGIN alice $u{alice}{password}"), "q6 $TEMPFAIL", 'a broken query: tempfail');
	like(tempfail_log('alice', $mark), qr/query: .*SQL syntax/, 'log: the server\'s error');
	$mark = log_mark();
	$c = imap(conf('bigq', query => "SELECT user, password, uid, gid, home, REPEAT('x', 5000) AS PD_BIG "
			. 'FROM users WHERE user = ?'));
	is(scalar $c->cmd("q7 LOGIN alice $u{alice}{password}"), "q7 $TEMPFAIL",
	   'a value longer than 4096 bytes: tempfail');
	like(tempfail_log('alice', $mark), qr/longer than 4096/, 'log: too long');
	like(scalar $c->cmd("q8 LOGIN nosuchuser $WRONG"), qr/^q8 NO \[AUTHENTICATIONFAILED\]/,
	   'the statement still works after that');
}

{
	# several rows for one login: a broken table, not a user (as LDAP's
	# two entries) - a temporary failure, and the statement still works
	my $m = log_mark();
	my $c = imap(conf('multirow', query => 'SELECT user, password, uid, gid, home FROM users '
			  . "WHERE user = ? OR user = 'xavier' ORDER BY user"));
	is(scalar $c->cmd("r1 LOGIN alice $u{alice}{password}"), "r1 $TEMPFAIL",
	   'a query with two rows: temporary failure, not a login');
	like(tempfail_log('alice', $m), qr/more than one row for alice/, 'log: more than one row');
	like(scalar $c->cmd("r2 LOGIN nosuchuser $WRONG"), qr/^r2 NO \[AUTHENTICATIONFAILED\]/,
	     'the statement still works after that');
	$c->cmd('r3 LOGOUT');

	# a query slower than timeout
	my $mark = log_mark();
	my $gmark = mysql_general_mark();
	$c = imap(conf('slow', timeout => 1, query => 'SELECT user, password, uid, gid, home FROM users '
			. 'WHERE user = ? AND SLEEP(4) = 0'));
	my $t0 = time;
	is(scalar $c->cmd("s1 LOGIN alice $u{alice}{password}", 15), "s1 $TEMPFAIL",
	   'a query slower than timeout = 1: temporary failure');
	my $dt = time - $t0;
	cmp_ok($dt, '<', 3.9, 'before the query would have ended (read timeout)');
	like(tempfail_log('alice', $mark), qr/: mysql /, 'log: tempfail ...: mysql ...');
	my @ex = mysql_general_lines(qr/\sExecute\s.*SLEEP\(4\)/, $gmark);
	is(scalar(@ex), 1, 'the timed-out query is not sent again');

	# socket wins over host/port
	$c = imap(conf('both', host => '127.0.0.1', port => port('DEAD'), socket => mysql_socket()));
	like(scalar $c->cmd("s2 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'socket and a dead host:port: the socket is used');
	$c->cmd('s3 LOGOUT');
}

# --- IMAP and POP3 through inetd -------------------------------------------------------------

my ($IMAP, $POP3) = (port('IMAP'), port('POP3'));
start_inetd({ port => $IMAP, proto => 'imap', conf => $conf },
	    { port => $POP3, proto => 'pop3', conf => $sconf });

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $IMAP, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'inetd: Mail::IMAPClient LOGIN alice') or diag($@);
	if ($imap) {
		my @peer = grep { $_->{exe} eq $PD::Test::DOVECOT_IMAP } tcp_peer_procs($imap->Socket);
		is(scalar(@peer), 1, 'inetd: the connection is Dovecot\'s');
		ok($imap->select('INBOX'), 'SELECT');
		my $msgid = "<pd-102-$$\@test.local>";
		my $uid = $imap->append_string('INBOX', "Message-ID: $msgid\r\nSubject: sql\r\n\r\nsql\r\n");
		ok($uid && find_message($u{alice}{maildir}, $msgid), 'APPEND lands in the maildir on disk');
		ok($imap->logout, 'LOGOUT');
	}
}

{
	put_message($u{bob}, "Subject: pop\nMessage-ID: <pop-102-$$\@t>\n\nover pop3\n");
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $POP3, Timeout => 10);
	ok($pop, 'Net::POP3 connects');
	if ($pop) {
		is($pop->login('bob', $u{bob}{password}), 1, 'POP3 (socket) USER/PASS as bob: 1 message');
		like(join('', @{$pop->get(1) || []}), qr/over pop3/, 'RETR 1');
		ok(wait_for_event('pop3 login', { user => 'bob', backend => 'dovecot' }, 5, $mark),
		   'log: pop3 login user=bob');
		$pop->quit;
	}
	my $c = PD::Test::POP3->new($POP3);
	$c->getline;
	$c->cmd('USER alice');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'POP3: wrong password');
	$c->cmd('USER ghost');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'POP3: unknown user, the same');
	$c->cmd('USER carol');
	is($c->cmd("PASS $u{carol}{password}"), '-ERR [AUTH] Account is disabled.', 'POP3: disabled');
	$c->cmd('QUIT');
}

# --- TLS to the server --------------------------------------------------------------------------

sub ssl_accepts { (split /\t/, mysql_sql("SHOW GLOBAL STATUS LIKE 'Ssl_accepts';"))[1] // 0 }

{
	my $before = ssl_accepts();
	my $mark = log_mark();
	my $c = imap(conf('tls', user => $MYSQL_TLS_USER, tls => 'yes', ca => $tls->{ca}));
	like(scalar $c->cmd("t1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'tls = yes, ca = the test CA: alice logs in (as a REQUIRE SSL account)');
	cmp_ok(ssl_accepts(), '>', $before, 'the server accepted a TLS connection');
	$c->cmd('t2 LOGOUT');

	$mark = log_mark();
	$c = imap(conf('notls', user => $MYSQL_TLS_USER));
	is(scalar $c->cmd("t3 LOGIN alice $u{alice}{password}"), "t3 $TEMPFAIL",
	   'the REQUIRE SSL account without tls: temporary failure');
	like(tempfail_log('alice', $mark), qr/: mysql 127\.0\.0\.1:\d+: Access denied/, 'log: Access denied');

	for my $bad (['another CA', ca => $tls->{other_ca}],
		     ['the right CA, a name the certificate lacks (127.0.0.2)', ca => $tls->{ca},
		      host => '127.0.0.2']) {
		my ($what, %o) = @$bad;
		$mark = log_mark();
		$c = imap(conf('badtls', user => $MYSQL_TLS_USER, tls => 'yes', %o));
		is(scalar $c->cmd("t4 LOGIN alice $u{alice}{password}"), "t4 $TEMPFAIL",
		   "tls = yes with $what: temporary failure");
		ok(no_backend($c), "$what: no login");
		like(tempfail_log('alice', $mark), qr/: mysql /, 'log: auth-failed ... reason=tempfail ...: mysql ...');
	}
}

# --- the server goes away and comes back -----------------------------------------------------------

{
	my $c = imap();
	is(scalar $c->cmd("k1 LOGIN alice $WRONG"), "k1 $FAILED", 'a session with an open connection');
	my @ids = connections_of('pd');
	ok(@ids, 'pd has a connection');
	mysql_sql(join '', map { "KILL $_;\n" } @ids);
	my $end = time + 3;
	sleep 0.05 while connections_of('pd') && time < $end;
	like(scalar $c->cmd("k2 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'its connection killed by the server: the next login reconnects');
	$c->cmd('k3 LOGOUT');
}

{
	mysql_sql("SET GLOBAL wait_timeout = 1;\n");
	my $c = imap();
	is(scalar $c->cmd("w1 LOGIN alice $WRONG"), "w1 $FAILED", 'connected (wait_timeout = 1)');
	my $end = time + 5;
	sleep 0.1 while connections_of('pd') && time < $end;
	is(scalar(connections_of('pd')), 0, 'the server closed the idle connection');
	like(scalar $c->cmd("w2 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'after wait_timeout: the next login reconnects');
	$c->cmd('w3 LOGOUT');
	mysql_sql("SET GLOBAL wait_timeout = 28800;\n");
}

{
	my $c = imap();
	is(scalar $c->cmd("d1 LOGIN alice $WRONG"), "d1 $FAILED", 'a session with an open connection');
	my $pop = PD::Test::POP3->new($POP3);
	$pop->getline;
	mysql_stop();
	my $mark = log_mark();
	is(scalar $c->cmd("d2 LOGIN alice $u{alice}{password}"), "d2 $TEMPFAIL",
	   'server stopped: the right password gets a temporary failure');
	like(tempfail_log('alice', $mark), qr/: mysql /, 'log: auth-failed ... reason=tempfail ...: mysql ...');
	ok(!wait_for_log(qr/auth-failed user="alice".*reason=password-mismatch/, 0.1, $mark),
	   'not a password mismatch');
	my $c2 = imap($sconf);
	is(scalar $c2->cmd("d3 LOGIN alice $u{alice}{password}"), "d3 $TEMPFAIL",
	   'server stopped: a new session over the socket too');
	$pop->cmd('USER alice');
	is($pop->cmd("PASS $u{alice}{password}"), $POP_TEMPFAIL, 'server stopped: POP3 -ERR [SYS/TEMP]');
	ok(no_backend($c) && no_backend($c2), 'nobody logged in');

	mysql_start();
	like(scalar $c->cmd("d4 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'server back: the same session logs in');
	$c->cmd('d5 LOGOUT');
	like(scalar $c2->cmd("d6 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'server back: the socket session too');
	$c2->cmd('d7 LOGOUT');
	$pop->cmd('USER bob');
	like($pop->cmd("PASS $u{bob}{password}") // '', qr/^\+OK/, 'and POP3');
	$pop->cmd('QUIT');

	my $c3 = imap();
	is(scalar $c3->cmd("r1 LOGIN alice $WRONG"), "r1 $FAILED", 'connected');
	mysql_stop();
	mysql_start();
	like(scalar $c3->cmd("r2 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'server restarted between two logins: the second one works');
	$c3->cmd('r3 LOGOUT');
}

# --- timeouts and credentials -------------------------------------------------------------------------

{
	my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => port('HOLE'),
					 Listen => 5, ReuseAddr => 1) or die "listen: $!\n";
	my $c = imap(conf('hole', port => port('HOLE'), timeout => 1));
	my $t0 = time;
	is(scalar $c->cmd("o1 LOGIN alice $u{alice}{password}", 15), "o1 $TEMPFAIL",
	   'a server that never answers: temporary failure');
	cmp_ok(time - $t0, '<', 6, 'within a few seconds of timeout = 1');
	close $hole;

	my $mark = log_mark();
	$c = imap(conf('dead', port => port('DEAD')));
	is(scalar $c->cmd("o2 LOGIN alice $u{alice}{password}"), "o2 $TEMPFAIL", 'nothing listening: tempfail');
	like(tempfail_log('alice', $mark), qr/: mysql 127\.0\.0\.1:\d+: Can't connect/, "log: Can't connect");

	$mark = log_mark();
	$c = imap(conf('badpw', password_file => mysql_pw_file('wrong.pw', 0600, 'Not-the-password')));
	is(scalar $c->cmd("o3 LOGIN alice $u{alice}{password}"), "o3 $TEMPFAIL",
	   'a wrong database password: temporary failure, not "Authentication failed"');
	like(tempfail_log('alice', $mark), qr/Access denied for user 'pd'/, 'log: Access denied');
}

# --- the module and its secret file -------------------------------------------------------------------

sub line_of {
	my ($file, $re) = @_;
	my @l = split /\n/, read_file($file);
	for my $i (0 .. $#l) { return $i + 1 if $l[$i] =~ $re; }
	return 0;
}

{
	my $empty = "$dir/no-modules";
	make_path($empty);
	my $cf = conf('nomodule', module_dir => $empty);
	my $line = line_of($cf, qr/^driver = mysql/);
	my $r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'pop3', '-d');
	is($r->{rc}, 78, 'pd_auth_mysql.so missing: exit 78');
	like($r->{err}, qr/\Q$cf\E:$line: auth driver 'mysql' is not installed: no \Q$empty\E\/pd_auth_mysql\.so/,
	     'stderr names pd.conf:line and the path') or diag($r->{err});
	like($r->{out}, qr/^-ERR \[SYS\/TEMP\] /, 'the POP3 client hears -ERR [SYS/TEMP]');

	my ($s, $pid) = stdio_session($cf, 'imap');
	my $c = PD::Test::IMAP->new($s);
	like($c->read_to_eof(5) // '', qr/^\* BYE \[UNAVAILABLE\] Server configuration error\.\r\n\z/,
	     'an IMAP session: BYE, no greeting');
	is(wait_pid($pid, 5) // -1, 78 << 8, 'the session exits 78');

	my $mods = "$dir/mods";
	make_path($mods);
	copy(module_dir() . '/pd_auth_mysql.so', "$mods/pd_auth_mysql.so") or die "copy: $!\n";
	chmod 0757, "$mods/pd_auth_mysql.so";
	$r = run_pd('pd-forker-stdio', '-c', conf('modcopy', module_dir => $mods), '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a world-writable module: exit 78');
	like($r->{err}, qr/\Q$mods\E\/pd_auth_mysql\.so must be a regular file owned by root/,
	     'refused') or diag($r->{err});
	chmod 0755, "$mods/pd_auth_mysql.so";
	$c = imap("$dir/modcopy.conf");
	like(scalar $c->cmd("m1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'the same copy, mode 0755: loads and works');
	$c->cmd('m2 LOGOUT');

	my $world = mysql_pw_file('world.pw', 0644);
	$cf = conf('worldpw', password_file => $world);
	$line = line_of($cf, qr/^password_file = /);
	$r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a world-readable password_file: exit 78');
	like($r->{err}, qr/\Q$cf\E:$line: secret file \Q$world\E is readable by others/,
	     'stderr names pd.conf:line and the file') or diag($r->{err});
}

cmp_ok(time - $T0, '<', 60, 'the whole file ran in under 60 s');

finish(map({ $_->{password} } values %u, values %q), $WRONG);
