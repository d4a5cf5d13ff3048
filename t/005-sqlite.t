#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# The sqlite auth driver (schema of etc/schema-sqlite.sql) behind both
# forkers: IMAP and POP3 logins through inetd and stdio with SHA512-CRYPT,
# SSHA256 and SSHA512 hashes, the mail column, status = disabled, unknown
# users and wrong passwords, and changes to the database seen by the next
# session without a restart.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use DBI;
use Mail::IMAPClient;
use Net::POP3;
use Test::More;
use Time::HiRes qw(time);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;

my $conf = write_conf(<<'EOF');
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
max_bad_commands = 3
auth_failure_delay = 1

[auth]
driver = sqlite
path = %%TESTDIR%%/users.db

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3

# Plaintext logins from --client-ip documentation addresses (not in
# trusted_networks): the TLS policy has its own tests.
[tls]
plaintext_auth = allow
EOF

my $dir = testdir();
# pd creates a missing maildir as the user: its parent must be the user's
mkdir "$dir/mail", 0755;
mkdir "$dir/mail/gina", 0700;
chown 5000, 5000, "$dir/mail/gina";
my %u = (
	alice => { user => 'alice', password => 'Alice-sql-pw-61', scheme => 'SHA512-CRYPT' },
	dave => { user => 'dave', password => 'Dave-sql-pw-62', scheme => 'SSHA256', uid => 5001 },
	gina => { user => 'gina', password => 'Gina-sql-pw-63', scheme => 'SSHA512',
		  mail => "$dir/mail/gina/box" },
	carol => { user => 'carol', password => 'Carol-sql-pw-64', status => 'disabled', uid => 5001 },
	erin => { user => 'erin', password => 'Erin-sql-pw-65', scheme => 'SSHA256' },
);
my $db = make_user_sqlite(@u{qw(alice dave gina carol erin)});
my $WRONG = 'Wrong-sql-pw-69';
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $FAILED = 'NO [AUTHENTICATIONFAILED] Authentication failed.';

my ($IMAP, $POP3) = (port('IMAP'), port('POP3'));
start_inetd({ port => $IMAP, proto => 'imap', conf => $conf },
	    { port => $POP3, proto => 'pop3', conf => $conf });

sub imap_stdio {
	my ($s, $pid) = stdio_session($conf, 'imap', '--client-ip', '198.51.100.5');
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

# --- IMAP through inetd, Mail::IMAPClient -----------------------------------------------

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $IMAP, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'sqlite user alice (SHA512-CRYPT) logs in over inetd')
		or diag($@);
	last unless $imap;
	ok(wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1',
		port => $imap->Socket->sockport, backend => 'dovecot' }, 5, $mark),
	   'log: imap login user=alice ip=127.0.0.1 port=... backend=dovecot') or diag(log_text($mark));
	my $md = $u{alice}{maildir};
	ok(-d "$md/$_", "maildir $_/ created at <home>/Maildir") for qw(cur new tmp);
	ok($imap->select('INBOX'), 'SELECT');
	my $msgid = "<pd-005-$$\@test.local>";
	my $uid = $imap->append_string('INBOX', "Message-ID: $msgid\r\nSubject: sql\r\n\r\nsqlite\r\n");
	ok($uid, 'APPEND');
	ok(find_message($md, $msgid), 'the message is on disk');
	$imap->select('INBOX');
	ok($imap->delete_message($uid) && $imap->expunge, 'STORE \\Deleted + EXPUNGE');
	ok(!find_message($md, $msgid), 'and gone from disk');
	ok($imap->logout, 'LOGOUT');
}

# --- IMAP through stdio: other schemes, the mail column -------------------------------------

{
	my $c = imap_stdio();
	my $mark = log_mark();
	like(scalar $c->cmd("a1 LOGIN dave $u{dave}{password}") // '', $LOGGED_IN,
	     'dave (SSHA256, uid 5001) logs in over stdio');
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
	is_deeply([@{($b[0] // {})->{uid} // []}[0 .. 2]], [5001, 5001, 5001], 'Dovecot runs as 5001');
	ok(wait_for_event('imap login', { user => 'dave', ip => '198.51.100.5', backend => 'dovecot' },
			  5, $mark), 'log: login line with the --client-ip address');
	$c->cmd('a2 LOGOUT');
}

{
	my $md = $u{gina}{maildir};
	ok(!-e $md, 'gina has no maildir yet');
	my $c = imap_stdio();
	like(scalar $c->cmd('a1 AUTHENTICATE PLAIN ' . sasl_plain('gina', $u{gina}{password})) // '',
	     $LOGGED_IN, 'gina (SSHA512) logs in with AUTHENTICATE PLAIN');
	ok(-d "$md/$_", "maildir $_/ created at the mail column's path") for qw(cur new tmp);
	ok(!-e "$u{gina}{home}/Maildir", 'not at <home>/Maildir');
	my $m = "Subject: gina\r\n\r\nhello\r\n";
	$c->send_raw("a2 APPEND INBOX {" . length($m) . "+}\r\n$m\r\n");
	like($c->tagged('a2') // '', qr/^a2 OK/, 'APPEND with a literal');
	ok(find_message($md, 'Subject: gina'), 'the message is in the mail column maildir');
	$c->cmd('a3 LOGOUT');
}

# --- failures --------------------------------------------------------------------------------

{
	my $mark = log_mark();
	my %c = (wrong => imap_stdio(), unknown => imap_stdio(), disabled => imap_stdio());
	my $t0 = time;
	$c{wrong}->send("f1 LOGIN erin $WRONG");
	$c{unknown}->send("f1 LOGIN ghost $WRONG");
	$c{disabled}->send("f1 LOGIN carol $u{carol}{password}");
	my %r = map { $_ => [$c{$_}->tagged('f1', 5)] } sort keys %c;
	my $dt = time - $t0;
	is_deeply($r{wrong}, ["f1 $FAILED"], 'wrong password');
	is_deeply($r{unknown}, $r{wrong}, 'unknown user: identical');
	cmp_ok($dt, '>=', 0.9, 'after the failure delay');
	is_deeply($r{disabled}, ['f1 NO [AUTHENTICATIONFAILED] Account is disabled.'], 'disabled');
	for my $k (sort keys %c) {
		ok(!grep({ $_->{exe} =~ m{/dovecot/} } proc_tree($c{$k}{pid})), "$k: no backend");
		like(scalar $c{$k}->cmd('f2 NOOP') // '', qr/^f2 OK/, "$k: NOOP still answered by pd");
		$c{$k}->cmd('f3 LOGOUT');
	}
	ok(!-e "$u{erin}{home}/Maildir" && !-e "$u{carol}{home}/Maildir", 'no maildirs created');
	my $w = wait_for_event('imap auth-failed', { user => 'erin' }, 5, $mark);
	my $n = wait_for_event('imap auth-failed', { user => 'ghost' }, 5, $mark);
	ok($w && $n, 'log: both failures') or diag(log_text($mark));
	is($n && $n->{reason}, 'unknown-user', 'reason=unknown-user');
	isnt($w && $w->{reason}, 'unknown-user', 'wrong password: another reason');
}

{
	# the login name is bound as a parameter, not pasted into SQL
	my $c = imap_stdio();
	is(scalar $c->cmd(qq{i1 LOGIN "x' OR '1'='1" "$WRONG"}), "i1 $FAILED", 'SQL in the login name');
	is(scalar $c->cmd(qq{i2 LOGIN "alice' --" "$u{alice}{password}"}), "i2 $FAILED",
	   'SQL comment in the login name');
	like(scalar $c->cmd('i3 NOOP') // '', qr/^i3 OK/, 'still answering');
	$c->cmd('i4 LOGOUT');
}

# --- POP3 through inetd ---------------------------------------------------------------------------

{
	my $keep = put_message($u{dave}, "Subject: keep\nMessage-ID: <keep-$$\@t>\n\nkeep me\n");
	my $del = put_message($u{dave}, "Subject: drop\nMessage-ID: <drop-$$\@t>\n\ndrop me\n");
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $POP3, Timeout => 10);
	ok($pop, 'Net::POP3 connects');
	last unless $pop;
	is($pop->login('dave', $u{dave}{password}), 2, 'POP3 login of a sqlite user: 2 messages');
	ok(wait_for_event('pop3 login', { user => 'dave', ip => '127.0.0.1', port => $pop->sockport,
					  backend => 'dovecot' }, 5, $mark), 'log: pop3 login line');
	my ($num) = grep { join('', @{$pop->get($_) || []}) =~ /drop me/ } 1, 2;
	ok($num, 'RETR finds the message');
	ok($num && $pop->delete($num), 'DELE');
	ok($pop->quit, 'QUIT');
	ok(!-e $del && !find_message($u{dave}{maildir}, "drop-$$"), 'the deleted message is gone from disk');
	ok(find_message($u{dave}{maildir}, "keep-$$"), 'the other is kept');
}

{
	my $c = PD::Test::POP3->new($POP3);
	$c->getline;
	$c->cmd('USER carol');
	like($c->cmd("PASS $u{carol}{password}") // '', qr/^-ERR/, 'POP3: disabled sqlite user refused');
	$c->cmd('USER erin');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'POP3: wrong password');
	$c->cmd('QUIT');
}

# --- the database changes under a running server --------------------------------------------------

{
	my $dbh = DBI->connect("dbi:SQLite:dbname=$db", '', '', { RaiseError => 1 });
	my $hank = { user => 'hank', password => 'Hank-sql-pw-66', uid => 5001 };
	my $h = make_home('hank', 5001, 5001);
	$dbh->do('INSERT INTO users (user, password, uid, gid, home) VALUES (?, ?, ?, ?, ?)', undef,
		 'hank', hash_password('SHA512-CRYPT', $hank->{password}), 5001, 5001, $h);
	my $c = PD::Test::IMAP->new($IMAP);
	$c->getline;
	like(scalar $c->cmd("h1 LOGIN hank $hank->{password}") // '', $LOGGED_IN,
	     'a user added to the database logs in at once');
	$c->cmd('h2 LOGOUT');

	$dbh->do('UPDATE users SET password = ? WHERE user = ?', undef,
		 hash_password('SSHA256', 'Hank-new-pw-67'), 'hank');
	$c = PD::Test::IMAP->new($IMAP);
	$c->getline;
	is(scalar $c->cmd("h3 LOGIN hank $hank->{password}"), "h3 $FAILED", 'the old password no longer works');
	like(scalar $c->cmd('h4 LOGIN hank Hank-new-pw-67') // '', $LOGGED_IN, 'the new one does');
	$c->cmd('h5 LOGOUT');

	$dbh->do(q{UPDATE users SET status = 'disabled' WHERE user = 'hank'});
	$c = PD::Test::IMAP->new($IMAP);
	$c->getline;
	is(scalar $c->cmd('h6 LOGIN hank Hank-new-pw-67'), 'h6 NO [AUTHENTICATIONFAILED] Account is disabled.',
	   'disabling takes effect for the next session');
	$c->cmd('h7 LOGOUT');
	$dbh->disconnect;
}

finish(map({ $_->{password} } values %u), $WRONG, 'Hank-sql-pw-66', 'Hank-new-pw-67',
       sasl_plain('gina', $u{gina}{password}));
