#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# IMAP through pd-forker-stdio with users in a passwd-file: the pre-login
# commands, every way to log in (LOGIN with atoms, quoted strings and both
# kinds of literal, AUTHENTICATE PLAIN with SASL-IR and with a continuation,
# AUTHENTICATE LOGIN), pipelining after login, the hand-over to Dovecot (a
# full mailbox session checked on disk), failed and disabled logins, the log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Mail::IMAPClient;
use Test::More;
use Time::HiRes qw(time);

use PD::Test qw(:all);
use PD::Test::IMAP;

my $conf = write_conf(<<'EOF');
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
max_bad_commands = 3
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3

# Plaintext logins from --client-ip documentation addresses (not in
# trusted_networks): the TLS policy has its own tests.
[tls]
plaintext_auth = allow
EOF

my $dir = testdir();
my %u = (
	alice => { user => 'alice', password => 'Alice-pw-4711', scheme => 'SHA512-CRYPT' },
	# a second uid, SSHA256, the maildir given with Dovecot's userdb_ prefix
	bob => { user => 'bob', password => 'Bob-pw-0815', scheme => 'SSHA256', uid => 5001,
		 mail => "$dir/mail/bob/box", prefix => 'userdb_' },
	carol => { user => 'carol', password => 'Carol-pw-1234', status => 'disabled' },
	# only ever fails to log in: must never get a maildir
	erin => { user => 'erin', password => 'Erin-pw-9876', scheme => 'SSHA256' },
	# a password that needs quoting: space, double quote, backslash
	frank => { user => 'frank', password => 'Fr ank"q\\pw', scheme => 'PLAIN' },
	# records pd must not serve: uid 0, a uid below first_valid_uid (500),
	# a home that does not exist
	rooty => { user => 'rooty', password => 'Rooty-pw-0000', uid => 0, gid => 0 },
	lowuid => { user => 'lowuid', password => 'Lowuid-pw-100', uid => 100, gid => 100 },
	nohome => { user => 'nohome', password => 'Nohome-pw-404', home => "$dir/home/not-there" },
);
make_user_file(@u{qw(alice bob carol erin frank rooty lowuid nohome)});
# pd creates a missing maildir as the user: its parent must be the user's
mkdir "$dir/mail", 0755;
mkdir "$dir/mail/bob", 0700;
chown 5001, 5001, "$dir/mail/bob";
my $WRONG = 'Wrong-pw-5521';
my $CLIENT_IP = '192.0.2.7';

# A raw session: the greeting read, the connection as PD::Test::IMAP.
sub session {
	my ($s, $pid) = stdio_session($conf, 'imap', '--client-ip', $CLIENT_IP);
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub caps_of {
	my ($line) = @_;
	my ($c) = ($line // '') =~ /CAPABILITY ([^\]]*)/;
	return { map { uc($_) => 1 } split ' ', $c // '' };
}

# The tagged OK of a login answered by Dovecot itself.
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $FAILED = 'NO [AUTHENTICATIONFAILED] Authentication failed.';

# After a login: the session is Dovecot, running as the user (real, effective
# and saved ids), without root's groups.
sub check_backend {
	my ($c, $u, $name) = @_;
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
	is(scalar(@b), 1, "$name: one Dovecot imap serves the session");
	my $p = $b[0] or return;
	is_deeply([@{$p->{uid}}[0 .. 2]], [($u->{uid}) x 3], "$name: backend uid is $u->{uid}");
	is_deeply([@{$p->{gid}}[0 .. 2]], [($u->{gid}) x 3], "$name: backend gid is $u->{gid}");
	ok(!grep({ $_ == 0 } @{$p->{groups}}), "$name: backend keeps no root group");
}

sub check_no_backend {
	my ($c, $name) = @_;
	my @b = grep { $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid});
	is(scalar(@b), 0, "$name: no backend started");
}

# --- greeting and pre-login commands -------------------------------------------

{
	my $c = session();
	like($c->{greeting}, qr/^\* OK \[CAPABILITY [^\]]+\] \S/, 'greeting with capabilities');
	my $caps = caps_of($c->{greeting});
	ok($caps->{$_}, "greeting announces $_") for qw(IMAP4REV1 SASL-IR AUTH=PLAIN LITERAL+);

	my @l = $c->cmd('c1 CAPABILITY');
	is(scalar(@l), 2, 'CAPABILITY: one untagged line and the tagged reply');
	like($l[0], qr/^\* CAPABILITY IMAP4rev1 /, 'CAPABILITY untagged line');
	ok(caps_of($l[0])->{$_}, "CAPABILITY lists $_") for qw(SASL-IR AUTH=PLAIN LITERAL+);
	like($l[-1], qr/^c1 OK/, 'CAPABILITY tagged OK');

	like(scalar $c->cmd('n1 NOOP'), qr/^n1 OK/, 'NOOP');
	like(scalar $c->cmd('n2 noop'), qr/^n2 OK/, 'commands are case-insensitive');

	@l = $c->cmd('i1 ID ("name" "pd-test" "version" "1")');
	like($l[0], qr/^\* ID /, 'ID: untagged ID reply');
	like($l[-1], qr/^i1 OK/, 'ID: tagged OK');
	@l = $c->cmd('i2 ID NIL');
	like($l[-1], qr/^i2 OK/, 'ID NIL');

	my $mark = log_mark();
	@l = $c->cmd('l1 LOGOUT');
	like($l[0], qr/^\* BYE/, 'LOGOUT: BYE');
	like($l[-1], qr/^l1 OK/, 'LOGOUT: tagged OK');
	is($c->read_to_eof(3), '', 'LOGOUT: connection closed, nothing after the OK');
	ok(wait_for_event('imap end', { ip => $CLIENT_IP, reason => 'logout', session => qr/^\S+$/ },
			  5, $mark), 'log: imap end ... reason=logout with the --client-ip address');
	ok(!-e "$u{alice}{home}/Maildir", 'nothing logged in yet: no maildir');
}

# --- LOGIN with Mail::IMAPClient, then a whole mailbox session ----------------------

{
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf, 'imap', '--client-ip', $CLIENT_IP);
	my $imap = Mail::IMAPClient->new(Socket => $s, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'Mail::IMAPClient LOGIN as alice')
		or diag($@ // '', $imap ? $imap->LastError : '');
	last unless $imap;
	like(join('', $imap ? $imap->Results : ()), qr/OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/,
	     'the login is answered by Dovecot');
	check_backend({ pid => $pid }, $u{alice}, 'alice');

	my $md = $u{alice}{maildir};
	for my $sub (qw(cur new tmp)) {
		my @st = stat("$md/$sub");
		ok(@st && -d _, "pd created $sub/ of the maildir");
		is(sprintf('%04o', ($st[2] // 0) & 07777), '0700', "$sub/ has mode 0700");
		is("@st[4,5]", '5000 5000', "$sub/ is owned by alice");
	}
	ok(!-e "$md/maildirfolder", 'no stray maildirfolder file in INBOX');

	my $ev = wait_for_event('imap login', { user => 'alice', ip => $CLIENT_IP,
		backend => 'dovecot', method => 'LOGIN', session => qr/^\S+$/ }, 5, $mark);
	ok($ev, 'log: imap login user=alice ip=... backend=dovecot method=LOGIN session=...')
		or diag(log_text($mark));

	ok($imap->select('INBOX'), 'SELECT INBOX') or diag($imap->LastError);
	my $msgid = "<pd-001-$$-a\@test.local>";
	my $msg = "From: tester\@test.local\r\nTo: alice\@test.local\r\n"
		. "Subject: pd 001\r\nMessage-ID: $msgid\r\n\r\nHello from 001.\r\n";
	my $uid = $imap->append_string('INBOX', $msg);
	ok($uid, 'APPEND') or diag($imap->LastError);
	my $file = find_message($md, $msgid);
	ok($file, 'the appended message is a file in the maildir on disk');
	like(read_file($file // '/nonexistent') // '', qr/Hello from 001\./, 'with the body');
	is((stat($file // '/nonexistent'))[4], 5000, 'owned by alice');

	$imap->select('INBOX');
	is($imap->message_count('INBOX'), 1, 'one message');
	like($imap->message_string($uid) // '', qr/\Q$msgid\E.*Hello from 001\./s, 'FETCH the message');
	ok($imap->set_flag('\\Deleted', $uid), 'STORE +FLAGS \\Deleted') or diag($imap->LastError);
	ok($imap->expunge, 'EXPUNGE') or diag($imap->LastError);
	ok(!find_message($md, $msgid), 'the message file is gone from disk after EXPUNGE');
	ok($imap->logout, 'LOGOUT');
	is(wait_pid($pid, 5), 0, 'the session process exits 0 after LOGOUT');
}

# --- AUTHENTICATE ------------------------------------------------------------

{
	my $c = session();
	my $mark = log_mark();
	my @l = $c->cmd('a1 AUTHENTICATE PLAIN ' . sasl_plain('alice', $u{alice}{password}));
	like($l[-1] // '', $LOGGED_IN, 'AUTHENTICATE PLAIN with SASL-IR: Dovecot answers');
	is(scalar(grep { /^\+/ } @l), 0, 'SASL-IR: no continuation request');
	like(scalar $c->cmd('a2 SELECT INBOX'), qr/^a2 OK \[READ-WRITE\]/, 'then SELECT works');
	ok(wait_for_event('imap login', { user => 'alice', ip => $CLIENT_IP, backend => 'dovecot' },
			  5, $mark), 'log: login line for AUTHENTICATE PLAIN');
	my @bye = $c->cmd('a3 LOGOUT');
	like($bye[-1] // '', qr/^a3 OK/, 'LOGOUT');
}

{
	my $c = session();
	$c->send('a1 AUTHENTICATE PLAIN');
	like($c->getline // '', qr/^\+/, 'AUTHENTICATE PLAIN without SASL-IR: continuation');
	$c->send(sasl_plain('alice', $u{alice}{password}));
	like($c->tagged('a1') // '', $LOGGED_IN, 'the response after the continuation logs in');
	$c->cmd('a2 LOGOUT');
}

{
	my ($s) = stdio_session($conf, 'imap');
	my $imap = Mail::IMAPClient->new(Socket => $s, User => 'alice', Authmechanism => 'PLAIN',
					 Password => $u{alice}{password}, Timeout => 10);
	ok($imap && $imap->IsAuthenticated, 'Mail::IMAPClient AUTHENTICATE PLAIN')
		or diag($imap ? $imap->LastError : $@);
	ok($imap && $imap->select('INBOX'), 'and SELECT');
	$imap->logout if $imap;
}

{
	my $c = session();
	$c->send('a1 AUTHENTICATE LOGIN');
	like($c->getline // '', qr/^\+/, 'AUTHENTICATE LOGIN: first continuation (user name)');
	$c->send(b64('alice'));
	like($c->getline // '', qr/^\+/, 'AUTHENTICATE LOGIN: second continuation (password)');
	$c->send(b64($u{alice}{password}));
	like($c->tagged('a1') // '', $LOGGED_IN, 'AUTHENTICATE LOGIN logs in');
	$c->cmd('a2 LOGOUT');
}

{
	my $c = session();
	$c->send('a1 AUTHENTICATE PLAIN');
	$c->getline;
	$c->send('*');
	like($c->tagged('a1') // '', qr/^a1 BAD/, 'AUTHENTICATE PLAIN cancelled with "*": tagged BAD');
	$c->send('a2 AUTHENTICATE LOGIN');
	$c->getline;
	$c->send(b64('alice'));
	$c->getline;
	$c->send('*');
	like($c->tagged('a2') // '', qr/^a2 BAD/, 'AUTHENTICATE LOGIN cancelled at the password: BAD');
	like(scalar $c->cmd('a3 NOOP') // '', qr/^a3 OK/, 'still pre-login and answering');
	check_no_backend($c, 'cancelled AUTHENTICATE');
	$c->cmd('a4 LOGOUT');
}

# --- SASL PLAIN authorization identities ------------------------------------------

{
	my $c = session();
	like(scalar $c->cmd('z1 AUTHENTICATE PLAIN ' . sasl_plain('alice', $u{alice}{password}, 'alice'))
	     // '', $LOGGED_IN, 'PLAIN with authzid = authcid logs in');
	$c->cmd('z2 LOGOUT');

	# alice's password must not open bob's mailbox
	my $mark = log_mark();
	$c = session();
	like(scalar $c->cmd('z1 AUTHENTICATE PLAIN ' . sasl_plain('alice', $u{alice}{password}, 'bob'))
	     // '', qr/^z1 (NO|BAD) /, 'PLAIN with another authzid is refused');
	check_no_backend($c, 'foreign authzid');
	ok(!wait_for_event('imap login', { user => 'bob' }, 0.5, $mark), 'no login of bob logged');
	$c->cmd('z3 LOGOUT');
}

# --- user name rewriting: [auth] lowercase = yes is the default -------------------

{
	my $mark = log_mark();
	my $c = session();
	like(scalar $c->cmd("u1 LOGIN ALICE $u{alice}{password}") // '', $LOGGED_IN,
	     'LOGIN ALICE logs in (lowercase = yes by default)');
	ok(wait_for_event('imap login', { user => 'alice' }, 5, $mark), 'logged as user=alice');
	$c->cmd('u2 LOGOUT');
}

# --- LOGIN argument forms ----------------------------------------------------------

{
	my $c = session();
	my $pw = $u{alice}{password};
	$c->send('a1 LOGIN {5}');
	like($c->getline // '', qr/^\+/, 'sync literal {5}: continuation for the user name');
	$c->send_raw('alice {' . length($pw) . "}\r\n");
	like($c->getline // '', qr/^\+/, 'sync literal: continuation for the password');
	$c->send($pw);
	like($c->tagged('a1') // '', $LOGGED_IN, 'LOGIN with two sync literals');
	$c->cmd('a2 LOGOUT');
}

{
	my $c = session();
	my $pw = $u{alice}{password};
	$c->send_raw("a1 LOGIN {5+}\r\nalice {" . length($pw) . "+}\r\n$pw\r\n");
	my @l = $c->tagged('a1');
	like($l[-1] // '', $LOGGED_IN, 'LOGIN with non-sync literals {n+}');
	is(scalar(grep { /^\+/ } @l), 0, 'non-sync literals: no continuation request');
	$c->cmd('a2 LOGOUT');
}

{
	my $c = session();
	(my $q = $u{frank}{password}) =~ s/(["\\])/\\$1/g;
	like(scalar $c->cmd(qq{a1 LOGIN "frank" "$q"}) // '', $LOGGED_IN,
	     'LOGIN with quoted strings holding a space, " and \\');
	$c->cmd('a2 LOGOUT');

	$c = session();
	my $pw = $u{frank}{password};
	$c->send_raw("a1 LOGIN frank {" . length($pw) . "+}\r\n$pw\r\n");
	like($c->tagged('a1') // '', $LOGGED_IN, 'the same password as a literal');
	$c->cmd('a2 LOGOUT');
}

# --- records pd must not serve ---------------------------------------------------

{
	my %c = map { $_ => session() } qw(rooty lowuid nohome);
	$c{$_}->send("r1 LOGIN $_ $u{$_}{password}") for sort keys %c;
	for my $k (sort keys %c) {
		my @l = $c{$k}->tagged('r1', 5);
		like($l[-1] // '', qr/^r1 NO /, "$k: the right password is refused");
		ok(!grep({ /^r1 OK/ || /^\* (PREAUTH|BYE)/ } @l), "$k: no OK, no backend greeting");
		check_no_backend($c{$k}, $k);
	}
	ok(!-e "$dir/home/not-there", 'the missing home is not created');
	ok(!-e "$u{rooty}{home}/Maildir", 'uid 0: no maildir');
}

# --- pipelining ----------------------------------------------------------------------

{
	my $c = session();
	$c->send_raw("a1 LOGIN alice $u{alice}{password}\r\na2 SELECT INBOX\r\n");
	like($c->tagged('a1') // '', $LOGGED_IN, 'pipelined: LOGIN answered by Dovecot');
	like($c->tagged('a2') // '', qr/^a2 OK \[READ-WRITE\]/,
	     'pipelined: the SELECT sent in the same write is answered by Dovecot');
	$c->cmd('a3 LOGOUT');
}

{
	my $c = session();
	$c->send_raw("p0 NOOP\r\np1 AUTHENTICATE PLAIN " . sasl_plain('alice', $u{alice}{password})
		     . "\r\np2 SELECT INBOX\r\np3 LOGOUT\r\n");
	like($c->tagged('p0') // '', qr/^p0 OK/, 'pipelined NOOP before the login answered by pd');
	like($c->tagged('p1') // '', $LOGGED_IN, 'pipelined AUTHENTICATE PLAIN');
	like($c->tagged('p2') // '', qr/^p2 OK \[READ-WRITE\]/, 'pipelined SELECT after it');
	like($c->tagged('p3') // '', qr/^p3 OK/, 'pipelined LOGOUT after it');
}

{
	my $c = session();
	my $pw = $u{alice}{password};
	$c->send_raw("a1 LOGIN {5+}\r\nalice {" . length($pw) . "+}\r\n$pw\r\na2 SELECT INBOX\r\n");
	like($c->tagged('a1') // '', $LOGGED_IN, 'pipelined after a LOGIN made of literals');
	like($c->tagged('a2') // '', qr/^a2 OK \[READ-WRITE\]/, 'the SELECT reaches Dovecot');
	$c->cmd('a3 LOGOUT');
}

# --- a second user: other uid, maildir from userdb_mail ----------------------------

{
	my $md = $u{bob}{maildir};
	ok(!-e $md, 'bob has no maildir yet');
	my ($s, $pid) = stdio_session($conf, 'imap');
	my $imap = Mail::IMAPClient->new(Socket => $s, User => 'bob',
					 Password => $u{bob}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'bob (SSHA256, uid 5001) logs in');
	last unless $imap;
	check_backend({ pid => $pid }, $u{bob}, 'bob');
	ok(-d "$md/$_", "pd created $_/ at userdb_mail") for qw(cur new tmp);
	is((stat("$md/new"))[4], 5001, 'owned by bob');
	ok(!-e "$u{bob}{home}/Maildir", 'and not <home>/Maildir');
	my $msgid = "<pd-001-$$-b\@test.local>";
	ok($imap && $imap->append_string('INBOX', "Message-ID: $msgid\r\nSubject: b\r\n\r\nbob\r\n"),
	   'APPEND as bob');
	ok(find_message($md, $msgid), "the message is in bob's maildir on disk");
	$imap->logout if $imap;
}

# --- failed logins -------------------------------------------------------------------

# Unknown user and wrong password, sent at the same time: byte-identical
# replies after the same delay, no backend, different reasons in the log.
{
	my $mark = log_mark();
	my %c = (wrong => session(), unknown => session(), plain => session());
	my $t0 = time;
	$c{wrong}->send("a1 LOGIN erin $WRONG");
	$c{unknown}->send("a1 LOGIN nosuchuser $WRONG");
	$c{plain}->send('a1 AUTHENTICATE PLAIN ' . sasl_plain('erin', $WRONG));
	my (%r, %dt);
	for my $k (sort keys %c) {
		$r{$k} = [$c{$k}->tagged('a1', 5)];
		$dt{$k} = time - $t0;
	}
	is_deeply($r{wrong}, ["a1 $FAILED"], 'wrong password: exactly the failure line');
	is_deeply($r{unknown}, $r{wrong}, 'unknown user: byte-identical reply');
	is_deeply($r{plain}, $r{wrong}, 'AUTHENTICATE PLAIN with a wrong password: the same reply');
	for my $k (sort keys %c) {
		cmp_ok($dt{$k}, '>=', 0.9, "$k: answered after auth_failure_delay");
		cmp_ok($dt{$k}, '<', 4, "$k: but not much later");
	}
	for my $k (sort keys %c) {
		check_no_backend($c{$k}, $k);
		like(scalar $c{$k}->cmd('a2 NOOP') // '', qr/^a2 OK/, "$k: pd still answers NOOP");
		my @cap = $c{$k}->cmd('a3 CAPABILITY');
		ok(caps_of($cap[0])->{'AUTH=PLAIN'}, "$k: still the pre-login capabilities");
	}
	ok(!-e "$u{erin}{home}/Maildir", 'failed logins created no maildir');

	my $w = wait_for_event('imap auth-failed', { user => 'erin', ip => $CLIENT_IP }, 5, $mark);
	my $n = wait_for_event('imap auth-failed', { user => 'nosuchuser', ip => $CLIENT_IP }, 5, $mark);
	ok($w, 'log: auth-failed for erin') or diag(log_text($mark));
	ok($n, 'log: auth-failed for nosuchuser');
	is($n && $n->{reason}, 'unknown-user', 'unknown user: reason=unknown-user');
	ok($w && $w->{reason} && $w->{reason} ne 'unknown-user',
	   'wrong password: another reason (' . ($w ? $w->{reason} // '' : '') . ')');

	# the same session may still log in
	like(scalar $c{wrong}->cmd("a4 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'a good LOGIN after a failed one in the same session');
	$c{wrong}->cmd('a5 LOGOUT');
	$c{$_}->cmd('a9 LOGOUT') for qw(unknown plain);
}

{
	my $mark = log_mark();
	my $c = session();
	my $t0 = time;
	is(scalar $c->cmd("d1 LOGIN carol $u{carol}{password}"),
	   'd1 NO [AUTHENTICATIONFAILED] Account is disabled.', 'disabled user, right password');
	check_no_backend($c, 'disabled');
	ok(!-e "$u{carol}{home}/Maildir", 'disabled user: no maildir');
	is(scalar $c->cmd("d2 LOGIN carol $WRONG"), "d2 $FAILED",
	   'disabled user, wrong password: the generic failure (nothing revealed)');
	like(scalar $c->cmd('d3 NOOP') // '', qr/^d3 OK/, 'still answering');
	ok(wait_for_event('imap auth-failed', { user => 'carol' }, 5, $mark), 'log: carol refused');
	$c->cmd('d4 LOGOUT');
}

finish(map({ $_->{password} } values %u), $WRONG,
       sasl_plain('alice', $u{alice}{password}), sasl_plain('erin', $WRONG),
       b64($u{alice}{password}));
