#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# IMAP through pd-forker-inet under the real openbsd-inetd on loopback, users
# in a passwd-file: Mail::IMAPClient over TCP, the client address and port in
# the log, Dovecot exec'd on the client socket itself (pd out of the path),
# nothing of Dovecot's stderr reaching the client, failed logins, pipelining
# and several sessions at once.

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
EOF

my %u = (
	alice => { user => 'alice', password => 'Alice-inet-pw-31', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-inet-pw-32', scheme => 'SSHA256', uid => 5001 },
	erin => { user => 'erin', password => 'Erin-inet-pw-33', scheme => 'SHA512-CRYPT', uid => 5001 },
);
make_user_file(@u{qw(alice bob erin)});
my $WRONG = 'Wrong-inet-pw-39';
my $PORT = port('IMAP');
start_inetd({ port => $PORT, proto => 'imap', conf => $conf });

my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;

sub connect_raw {
	my $c = PD::Test::IMAP->new($PORT);
	$c->{greeting} = $c->getline;
	return $c;
}

# --- pre-login over TCP -------------------------------------------------------------

{
	my $c = connect_raw();
	like($c->{greeting}, qr/^\* OK \[CAPABILITY [^\]]*IMAP4rev1[^\]]*\]/, 'greeting over inetd');
	my @l = $c->cmd('c1 CAPABILITY');
	like($l[0] // '', qr/^\* CAPABILITY .*AUTH=PLAIN/, 'CAPABILITY');
	like($l[-1] // '', qr/^c1 OK/, 'CAPABILITY OK');
	my $lport = $c->sock->sockport;
	my $mark = log_mark();
	@l = $c->cmd('l1 LOGOUT');
	like($l[-1] // '', qr/^l1 OK/, 'pre-login LOGOUT');
	is($c->read_to_eof(3), '', 'closed after LOGOUT, nothing else sent');
	my $ev = wait_for_event('imap end', { ip => '127.0.0.1', reason => 'logout' }, 5, $mark);
	ok($ev, 'log: imap end ip=127.0.0.1 reason=logout') or diag(log_text($mark));
}

# --- Mail::IMAPClient: the whole session ---------------------------------------------

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $PORT, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'Mail::IMAPClient LOGIN over inetd')
		or diag($@);
	last unless $imap;
	my $sock = $imap->Socket;
	my $ev = wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1',
		port => $sock->sockport, backend => 'dovecot', method => 'LOGIN' }, 5, $mark);
	ok($ev, 'log: imap login user=alice ip=127.0.0.1 port=<client port> backend=dovecot')
		or diag(log_text($mark));
	unlike($ev ? $ev->{_line} : '', qr/\Q$u{alice}{password}\E/, 'the login line holds no password');

	my @p = tcp_peer_procs($sock);
	is_deeply([map { $_->{exe} } @p], [$PD::Test::DOVECOT_IMAP],
		  'only Dovecot imap holds the client socket (exec on the socket, pd gone)')
		or diag(explain(\@p));
	is_deeply([@{$p[0]{uid}}[0 .. 2]], [5000, 5000, 5000], 'as uid 5000') if @p;

	my $md = $u{alice}{maildir};
	ok(-d "$md/$_", "maildir $_/ created") for qw(cur new tmp);
	ok($imap->select('INBOX'), 'SELECT');
	my $msgid = "<pd-002-$$\@test.local>";
	my $uid = $imap->append_string('INBOX', "From: t\@test.local\r\nSubject: 002\r\n"
				       . "Message-ID: $msgid\r\n\r\nover inetd\r\n");
	ok($uid, 'APPEND');
	my $f = find_message($md, $msgid);
	ok($f, 'the message is a file in the maildir');
	$imap->select('INBOX');
	like($imap->message_string($uid) // '', qr/over inetd/, 'FETCH');
	ok($imap->set_flag('\\Seen', $uid), 'STORE \\Seen');
	my $f2 = find_message($md, $msgid);
	like($f2 // '', qr{/cur/[^/]*:2,[A-Z]*S[A-Z]*$}, 'the flag is in the file name on disk');
	ok($imap->delete_message($uid), 'STORE \\Deleted');
	ok($imap->expunge, 'EXPUNGE');
	ok(!find_message($md, $msgid), 'the message file is gone');
	ok($imap->logout, 'LOGOUT');
}

# --- raw sessions: Dovecot's stderr never reaches the client -------------------------

{
	my $c = connect_raw();
	like(scalar $c->cmd("a1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN, 'raw LOGIN');
	like(scalar $c->cmd('a2 SELECT INBOX') // '', qr/^a2 OK/, 'SELECT');
	my @l = $c->cmd('a3 LOGOUT');
	like($l[-1] // '', qr/^a3 OK/, 'LOGOUT');
	is($c->read_to_eof(3), '', "nothing after the tagged OK: Dovecot's log lines go elsewhere");
	ok(wait_for_log(qr/imap\(alice\).*Disconnected/, 3), "Dovecot's own log line is in pd.log");
}

{
	my $c = connect_raw();
	$c->send_raw("a1 LOGIN bob $u{bob}{password}\r\na2 SELECT INBOX\r\na3 LOGOUT\r\n");
	like($c->tagged('a1') // '', $LOGGED_IN, 'pipelined over TCP: LOGIN');
	like($c->tagged('a2') // '', qr/^a2 OK \[READ-WRITE\]/, 'pipelined SELECT answered by Dovecot');
	like($c->tagged('a3') // '', qr/^a3 OK/, 'pipelined LOGOUT');
	ok(-d "$u{bob}{maildir}/new", "bob's maildir created");
	is((stat("$u{bob}{maildir}/new"))[4], 5001, 'owned by uid 5001');
}

{
	my $c = connect_raw();
	my @l = $c->cmd('a1 AUTHENTICATE PLAIN ' . sasl_plain('bob', $u{bob}{password}));
	like($l[-1] // '', $LOGGED_IN, 'AUTHENTICATE PLAIN with SASL-IR over TCP');
	$c->cmd('a2 LOGOUT');
}

# --- failed logins over TCP ------------------------------------------------------------

{
	my $mark = log_mark();
	my ($w, $n) = (connect_raw(), connect_raw());
	my $t0 = time;
	$w->send("f1 LOGIN erin $WRONG");
	$n->send("f1 LOGIN ghost $WRONG");
	my @rw = $w->tagged('f1');
	my @rn = $n->tagged('f1');
	my $dt = time - $t0;
	is_deeply(\@rw, ['f1 NO [AUTHENTICATIONFAILED] Authentication failed.'], 'wrong password');
	is_deeply(\@rn, \@rw, 'unknown user: the same bytes');
	cmp_ok($dt, '>=', 0.9, 'after the failure delay');
	for my $c ($w, $n) {
		my @p = tcp_peer_procs($c->sock);
		ok(@p && !grep({ $_->{exe} =~ m{/dovecot/} } @p), 'pd, not a backend, holds the socket');
		like(scalar $c->cmd('f2 NOOP') // '', qr/^f2 OK/, 'and answers NOOP');
	}
	ok(!-e "$u{erin}{home}/Maildir", 'no maildir for the failed login');
	my $ew = wait_for_event('imap auth-failed', { user => 'erin', ip => '127.0.0.1' }, 5, $mark);
	my $en = wait_for_event('imap auth-failed', { user => 'ghost', ip => '127.0.0.1' }, 5, $mark);
	ok($ew, 'log: auth-failed for erin with the client ip') or diag(log_text($mark));
	is($en && $en->{reason}, 'unknown-user', 'log: ghost reason=unknown-user');
	isnt($ew && $ew->{reason}, 'unknown-user', 'log: erin another reason');
	$_->cmd('f3 LOGOUT') for $w, $n;
}

# --- several sessions at once ------------------------------------------------------------

{
	my @imap = map {
		Mail::IMAPClient->new(Server => '127.0.0.1', Port => $PORT, User => 'alice',
				      Password => $u{alice}{password}, Timeout => 10)
	} 1 .. 6;
	is(scalar(grep { $_ && $_->IsAuthenticated } @imap), 6, 'six concurrent sessions log in');
	is(scalar(grep { $_ && $_->select('INBOX') } @imap), 6, 'and all of them SELECT');
	$_ && $_->logout for @imap;
}

# Clients that connect and go away at once must not crash anything.
{
	for (1 .. 10) {
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT) or next;
		close $s;
	}
	my $c = connect_raw();
	like($c->{greeting} // '', qr/^\* OK/, 'still greeting after ten dropped connections');
	$c->cmd('z LOGOUT');
}

finish(map({ $_->{password} } values %u), $WRONG, sasl_plain('bob', $u{bob}{password}));
