#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# POP3 through pd, users in a passwd-file: pre-login CAPA, USER/PASS and
# AUTH PLAIN, Dovecot's pop3 serving the session (STAT/LIST/RETR/DELE/QUIT
# with the message file really removed on disk), failures, the bad-command
# limit, the log.  Net::POP3 over the real inetd, raw lines over stdio.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Net::POP3;
use Test::More;
use Time::HiRes qw(time);

use PD::Test qw(:all);
use PD::Test::POP3;

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

my %u = (
	alice => { user => 'alice', password => 'Alice-pop-pw-41', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-pop-pw-42', scheme => 'SSHA256', uid => 5001 },
	carol => { user => 'carol', password => 'Carol-pop-pw-43', status => 'disabled', uid => 5001 },
	erin => { user => 'erin', password => 'Erin-pop-pw-44', scheme => 'SSHA256' },
);
make_user_file(@u{qw(alice bob carol erin)});
my $WRONG = 'Wrong-pop-pw-49';
my $FAILED = '-ERR [AUTH] Authentication failed.';
my $PORT = port('POP3');
start_inetd({ port => $PORT, proto => 'pop3', conf => $conf });

sub message {
	my ($id, $body) = @_;
	return "From: tester\@test.local\nTo: someone\@test.local\nSubject: $id\n"
		. "Message-ID: <$id\@test.local>\n\n$body\n";
}

sub session {
	my ($s, $pid) = stdio_session($conf, 'pop3', '--client-ip', '192.0.2.9');
	my $c = PD::Test::POP3->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub check_no_backend {
	my ($c, $name) = @_;
	my @b = grep { $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid});
	is(scalar(@b), 0, "$name: no backend started");
}

# --- pre-login, stdio -------------------------------------------------------------------

{
	my $c = session();
	like($c->{greeting}, qr/^\+OK /, 'POP3 greeting');
	my @capa = $c->multi('CAPA');
	like($capa[0] // '', qr/^\+OK/, 'CAPA +OK');
	ok(grep({ /^USER$/ } @capa), 'CAPA lists USER');
	my ($sasl) = grep { /^SASL\b/ } @capa;
	ok($sasl && $sasl =~ /\bPLAIN\b/ && $sasl =~ /\bLOGIN\b/, 'CAPA lists SASL PLAIN LOGIN')
		or diag(explain(\@capa));
	like($c->cmd('NOOP') // '', qr/^-ERR/, 'NOOP before login: -ERR (TRANSACTION state only, RFC 1939)');
	my $mark = log_mark();
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT before login');
	is($c->read_to_eof(3), '', 'closed after QUIT');
	ok(wait_for_event('pop3 end', { ip => '192.0.2.9', reason => 'logout' }, 5, $mark),
	   'log: pop3 end reason=logout') or diag(log_text($mark));
}

# --- USER/PASS then a whole session, stdio ------------------------------------------------

{
	my $f1 = put_message($u{alice}, message("pop-a1-$$", 'first body'));
	my $f2 = put_message($u{alice}, message("pop-a2-$$", 'second body'));
	my $c = session();
	my $mark = log_mark();
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER');
	is($c->cmd("PASS $u{alice}{password}"), '+OK Logged in.', 'PASS: +OK Logged in.');
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_POP3);
	is(scalar(@b), 1, 'Dovecot pop3 serves the session');
	is_deeply([@{$b[0]{uid}}[0 .. 2]], [5000, 5000, 5000], 'as uid 5000') if @b;
	like($c->cmd('STAT') // '', qr/^\+OK 2 \d+$/, 'STAT: two messages (answered by Dovecot)');
	my @list = $c->multi('LIST');
	is(scalar(@list), 3, 'LIST: two entries');
	like($list[1] // '', qr/^1 \d+$/, 'LIST entry 1');
	my @m = $c->multi('RETR 1');
	like($m[0] // '', qr/^\+OK/, 'RETR 1');
	my ($id) = join("\n", @m) =~ /Message-ID: <(pop-a\d-\d+)\@test\.local>/;
	ok($id, 'RETR 1 returns one of the messages') or diag(explain(\@m));
	$id //= '';
	my ($gone, $kept) = $id eq "pop-a1-$$" ? ($f1, $f2) : ($f2, $f1);
	like(join("\n", @m), qr/(first|second) body/, 'with its body');
	like($c->cmd('DELE 1') // '', qr/^\+OK/, 'DELE 1');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	is($c->read_to_eof(3), '', 'closed after QUIT, nothing else sent');
	ok(!find_message($u{alice}{maildir}, "<$id\@test.local>"), 'the deleted message file is gone from disk');
	ok(find_message($u{alice}{maildir}, $id eq "pop-a1-$$" ? "pop-a2-$$" : "pop-a1-$$"),
	   'the other message is still there');
	ok(wait_for_event('pop3 login', { user => 'alice', ip => '192.0.2.9', backend => 'dovecot',
					  session => qr/^\S+$/ }, 5, $mark), 'log: pop3 login line')
		or diag(log_text($mark));
}

# --- AUTH PLAIN with an initial response ------------------------------------------------------

{
	put_message($u{bob}, message("pop-b1-$$", 'for bob'));
	my $c = session();
	my $mark = log_mark();
	is($c->cmd('AUTH PLAIN ' . sasl_plain('bob', $u{bob}{password})), '+OK Logged in.',
	   'AUTH PLAIN with initial response');
	like($c->cmd('STAT') // '', qr/^\+OK 1 \d+$/, 'STAT by Dovecot');
	my @m = $c->multi('RETR 1');
	like(join("\n", @m), qr/for bob/, 'RETR');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	ok(wait_for_event('pop3 login', { user => 'bob', backend => 'dovecot' }, 5, $mark),
	   'log: pop3 login user=bob');
}

# Bytes pipelined after PASS reach Dovecot (CLIENT_INPUT).
{
	my $c = session();
	$c->send_raw("USER bob\r\nPASS $u{bob}{password}\r\nSTAT\r\nQUIT\r\n");
	like($c->getline // '', qr/^\+OK/, 'pipelined: USER');
	is($c->getline, '+OK Logged in.', 'pipelined: PASS');
	like($c->getline // '', qr/^\+OK 1 \d+$/, 'pipelined: STAT answered by Dovecot');
	like($c->getline // '', qr/^\+OK/, 'pipelined: QUIT');
}

# --- failures -----------------------------------------------------------------------------------

{
	my $mark = log_mark();
	my %c = (wrong => session(), unknown => session(), plain => session());
	$c{wrong}->cmd('USER erin');
	$c{unknown}->cmd('USER ghost');
	my $t0 = time;
	$c{wrong}->send("PASS $WRONG");
	$c{unknown}->send("PASS $WRONG");
	$c{plain}->send('AUTH PLAIN ' . sasl_plain('erin', $WRONG));
	my %r = map { $_ => $c{$_}->getline(5) } sort keys %c;
	my $dt = time - $t0;
	is($r{wrong}, $FAILED, 'wrong password: -ERR [AUTH] Authentication failed.');
	is($r{unknown}, $r{wrong}, 'unknown user: the same bytes');
	is($r{plain}, $r{wrong}, 'AUTH PLAIN, wrong password: the same');
	cmp_ok($dt, '>=', 0.9, 'after the failure delay');
	for my $k (sort keys %c) {
		ok($c{$k}->quiet(0.2), "$k: nothing more after the failure");
		check_no_backend($c{$k}, $k);
		my @capa = $c{$k}->multi('CAPA');
		ok(grep({ /^USER$/ } @capa), "$k: still pre-login (CAPA from pd)");
	}
	ok(!-e "$u{erin}{home}/Maildir", 'no maildir created by failed logins');
	my $w = wait_for_event('pop3 auth-failed', { user => 'erin' }, 5, $mark);
	my $n = wait_for_event('pop3 auth-failed', { user => 'ghost' }, 5, $mark);
	ok($w && $n, 'log: both failures logged') or diag(log_text($mark));
	is($n && $n->{reason}, 'unknown-user', 'unknown user reason');
	isnt($w && $w->{reason}, 'unknown-user', 'wrong password: another reason');

	# after a failure the session can still log in
	like($c{wrong}->cmd('USER bob') // '', qr/^\+OK/, 'USER again');
	is($c{wrong}->cmd("PASS $u{bob}{password}"), '+OK Logged in.', 'good PASS after a bad one');
	like($c{wrong}->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	$c{$_}->cmd('QUIT') for qw(unknown plain);
}

{
	my $c = session();
	$c->cmd('USER carol');
	like($c->cmd("PASS $u{carol}{password}") // '', qr/^-ERR /, 'disabled user refused');
	check_no_backend($c, 'disabled');
	ok(!-e "$u{carol}{home}/Maildir", 'disabled: no maildir');
	my @capa = $c->multi('CAPA');
	like($capa[0] // '', qr/^\+OK/, 'still answering (CAPA)');
	$c->cmd('QUIT');
}

{
	my $c = session();
	like($c->cmd("PASS $WRONG") // '', qr/^-ERR/, 'PASS before USER: -ERR');
	like($c->cmd('STAT') // '', qr/^-ERR/, 'STAT before login: -ERR');
	$c->cmd('QUIT');
}

{
	my $c = session();
	like($c->cmd('XYZZY') // '', qr/^-ERR/, 'unknown command: -ERR');
	like($c->cmd('FROB nicate') // '', qr/^-ERR/, 'second unknown command: -ERR');
	my @capa = $c->multi('CAPA');
	like($capa[0] // '', qr/^\+OK/, 'still answering after two (CAPA)');
	my @l;
	$c->send('PLUGH');
	while (defined(my $l = $c->getline(3))) { push @l, $l }
	is($l[-1] // '', '-ERR Too many invalid commands.',
	   'third bad command: -ERR Too many invalid commands.') or diag(explain(\@l));
	ok($c->at_eof, 'and the connection is closed');
}

# --- Net::POP3 over inetd ------------------------------------------------------------------------

{
	put_message($u{bob}, message("pop-b2-$$", 'second for bob'));
	my $pop = Net::POP3->new('127.0.0.1', Port => $PORT, Timeout => 10);
	ok($pop, 'Net::POP3 connects through inetd');
	last unless $pop;
	my $capa = $pop->capa;
	ok($capa && exists $capa->{USER}, 'Net::POP3 capa: USER');
	like($capa && $capa->{SASL} // '', qr/PLAIN/, 'Net::POP3 capa: SASL PLAIN');
	my $mark = log_mark();
	my $n = $pop->login('bob', $u{bob}{password});
	is($n, 2, 'Net::POP3 login returns the message count from Dovecot');
	my $sock_port = $pop->sockport;
	my $ev = wait_for_event('pop3 login', { user => 'bob', ip => '127.0.0.1', port => $sock_port,
						 backend => 'dovecot' }, 5, $mark);
	ok($ev, 'log: pop3 login user=bob ip=127.0.0.1 port=<client port> backend=dovecot')
		or diag(log_text($mark));
	my @p = tcp_peer_procs($pop);
	is_deeply([map { $_->{exe} } @p], [$PD::Test::DOVECOT_POP3],
		  'only Dovecot pop3 holds the client socket');
	is_deeply([@{$p[0]{uid}}[0 .. 2]], [5001, 5001, 5001], 'as uid 5001') if @p;
	my $list = $pop->list;
	is(scalar(keys %{$list || {}}), 2, 'LIST');
	my %bodies;
	for my $i (1, 2) {
		my $m = $pop->get($i);
		$bodies{$i} = join '', @{$m || []};
	}
	my ($num) = grep { $bodies{$_} =~ /pop-b2-$$/ } keys %bodies;
	ok($num, 'RETR finds the new message');
	ok($num && $pop->delete($num), 'DELE');
	ok($pop->quit, 'QUIT');
	ok(!find_message($u{bob}{maildir}, "pop-b2-$$"), 'the message file is removed after QUIT');
	ok(find_message($u{bob}{maildir}, "pop-b1-$$"), 'the other one stays');
}

{
	my $c = PD::Test::POP3->new($PORT);
	like($c->getline // '', qr/^\+OK/, 'raw TCP greeting');
	$c->cmd('USER ghost');
	is($c->cmd("PASS $WRONG"), $FAILED, 'raw TCP failure line');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	is($c->read_to_eof(3), '', 'nothing else reaches the client');
}

finish(map({ $_->{password} } values %u), $WRONG, sasl_plain('bob', $u{bob}{password}),
       sasl_plain('erin', $WRONG));
