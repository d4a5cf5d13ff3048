#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# POP3 over TLS: implicit TLS (995 style) through the real inetd with
# Net::POP3 (SSL => 1) and through "pd-forker-stdio --tls", a client that
# trusts another CA, STLS with CAPA before and after it (Net::POP3 starttls
# and raw), the STLS command-injection attack, the relay in the path for a
# TLS client (a 5 MB message RETRieved byte-identical, the byte counts
# logged, Dovecot told POP3_TLS=1 and the real address), openssl s_client
# -starttls pop3.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Net::POP3;
use Test::More;

use PD::Test qw(:all);
use PD::Test::POP3;

my $C = make_certs();
my $REC_POP3 = env_recorder($PD::Test::DOVECOT_POP3);
my %vars = (CERT => $C->{cert}, KEY => $C->{key}, REC => $REC_POP3);
my $conf = write_conf(<<'EOF', %vars);
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = %%REC%%

[tls]
cert = %%CERT%%
key = %%KEY%%
EOF

my %u = (
	alice => { user => 'alice', password => 'Alice-pop-tls-111', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-pop-tls-112', scheme => 'SSHA256', uid => 5001 },
);
make_user_file(@u{qw(alice bob)});
my $PW = $u{alice}{password};
my ($PORT, $PORTS) = (port('POP3'), port('POP3S'));
start_inetd({ port => $PORT, proto => 'pop3', conf => $conf },
	    { port => $PORTS, proto => 'pop3', conf => $conf, args => ['--tls'] });

my $TLS13 = 'TLSv1.3/TLS_AES_256_GCM_SHA384';
my $INET = PD::Test::bin('pd-forker-inet');

sub message {
	my ($id, $body) = @_;
	return "From: tester\@test.local\nTo: someone\@test.local\nSubject: $id\n"
		. "Message-ID: <$id\@test.local>\n\n$body\n";
}

sub capa {
	my ($c) = @_;
	my @l = $c->multi('CAPA');
	return { map { $_ => 1 } @l[1 .. $#l] }, $l[0];
}

# pd (the relay) holds the client socket, Dovecot pop3 below it.
sub check_relay {
	my ($sock, $name, $ip, $user) = @_;
	my @p;
	# The child execs Dovecot just after it sent "+OK" through the relay.
	for (1 .. 50) {
		@p = tcp_peer_procs($sock);
		last if @p == 1 && grep { $_->{exe} eq $PD::Test::DOVECOT_POP3 }
					proc_tree($p[0]{pid});
		select(undef, undef, undef, 0.1);
	}
	is_deeply([map { $_->{exe} } @p], [$INET], "$name: pd-forker-inet holds the client socket (the relay)")
		or diag(explain(\@p));
	my @b = @p == 1 ? grep { $_->{exe} eq $PD::Test::DOVECOT_POP3 } proc_tree($p[0]{pid}) : ();
	is(scalar(@b), 1, "$name: Dovecot pop3 below it");
	return unless @b;
	my $env = backend_env($b[0]{pid});
	is($env->{POP3_TLS}, '1', "$name: Dovecot has POP3_TLS=1");
	is($env->{IP}, $ip, "$name: Dovecot has IP=$ip");
	is($env->{USER}, $user, "$name: and USER=$user");
}

# --- implicit TLS through inetd: Net::POP3 SSL => 1 ------------------------------------------

{
	put_message($u{alice}, message("pop-tls-1-$$", 'first over tls'));
	put_message($u{alice}, message("pop-tls-2-$$", 'second over tls'));
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $PORTS, SSL => 1, Timeout => 10, tls_options());
	ok($pop, 'Net::POP3 SSL => 1 to the --tls service, verifying the certificate') or diag($@);
	if ($pop) {
		ok($pop->isa('IO::Socket::SSL'), 'the connection is TLS');
		is($pop->peer_certificate('cn'), 'localhost', 'the default certificate');
		my $capa = $pop->capa;
		ok($capa && exists $capa->{USER}, 'CAPA on TLS: USER');
		like($capa && $capa->{SASL} // '', qr/\bPLAIN\b/, 'CAPA on TLS: SASL PLAIN');
		ok($capa && !exists $capa->{STLS}, 'CAPA on TLS: no STLS');
		is($pop->login('alice', $PW), 2, 'login: two messages (from Dovecot)');
		my $ev = wait_for_event('pop3 login', { user => 'alice', ip => '127.0.0.1',
			port => $pop->sockport, backend => 'dovecot', tls => $TLS13, session => qr/\S/ },
			5, $mark);
		ok($ev, "log: pop3 login user=alice ... tls=$TLS13") or diag(log_text($mark));
		check_relay($pop, 'POP3 implicit TLS', '127.0.0.1', 'alice');
		my %bodies = map { my $m = $pop->get($_); ($_ => join('', @{$m || []})) } 1, 2;
		my ($num) = grep { $bodies{$_} =~ /pop-tls-1-$$/ } keys %bodies;
		ok($num, 'RETR over TLS');
		like($bodies{$num // 1}, qr/first over tls/, 'with the body');
		ok($num && $pop->delete($num), 'DELE');
		ok($pop->quit, 'QUIT');
		ok(!find_message($u{alice}{maildir}, "pop-tls-1-$$"), 'the deleted message is gone from disk');
		ok(find_message($u{alice}{maildir}, "pop-tls-2-$$"), 'the other one is still there');
		# Net::POP3 closes right after the QUIT reply: which side pd sees
		# closing first is a race
		my $end = wait_for_event('pop3 end', { user => 'alice', reason => qr/^(backend|client)-closed$/,
			in => qr/^[1-9]\d*$/, out => qr/^[1-9]\d*$/,
			session => $ev ? $ev->{session} : 'none' }, 5, $mark);
		ok($end, 'log: pop3 end user=alice in=N out=M reason=backend-closed (or client-closed)')
			or diag(log_text($mark));
	} else {
		fail('no connection: the checks that need it could not run');
	}
}

# raw over implicit TLS: AUTH PLAIN, STLS refused
{
	my ($s, $err) = tls_connect(port => $PORTS);
	ok($s, 'raw implicit TLS') or diag($err);
	my $c = PD::Test::POP3->new($s);
	like($c->getline // '', qr/^\+OK /, 'the greeting comes inside TLS');
	like($c->cmd('STLS') // '', qr/^-ERR /, 'STLS on a TLS connection: -ERR');
	is($c->cmd('AUTH PLAIN ' . sasl_plain('bob', $u{bob}{password})), '+OK Logged in.',
	   'AUTH PLAIN over TLS');
	like($c->cmd('STAT') // '', qr/^\+OK 0 0$/, 'STAT from Dovecot');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
}

# --- implicit TLS through pd-forker-stdio --tls ----------------------------------------------

{
	put_message($u{bob}, message("pop-tls-b-$$", 'for bob over stdio'));
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf, 'pop3', '--tls', '--client-ip', '198.51.100.23');
	my ($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'pd-forker-stdio -p pop3 --tls: verifying handshake') or diag($err);
	my $c = PD::Test::POP3->new($ssl // $s);
	like($c->getline // '', qr/^\+OK /, 'stdio --tls: greeting');
	my ($capa) = capa($c);
	ok($capa->{USER} && $capa->{'SASL PLAIN LOGIN'} && !$capa->{STLS},
	   'stdio --tls: CAPA has USER, SASL PLAIN LOGIN, no STLS') or diag(explain($capa));
	like($c->cmd('USER bob') // '', qr/^\+OK/, 'USER');
	is($c->cmd("PASS $u{bob}{password}"), '+OK Logged in.', 'PASS');
	ok(wait_for_event('pop3 login', { user => 'bob', ip => '198.51.100.23', tls => $TLS13 }, 5, $mark),
	   'log: pop3 login ip=198.51.100.23 tls=...') or diag(log_text($mark));
	my @b = backend_procs($pid, $PD::Test::DOVECOT_POP3);
	is(scalar(@b), 1, 'stdio --tls: Dovecot pop3 below pd');
	my $env = @b ? backend_env($b[0]{pid}) : {};
	is($env->{POP3_TLS}, '1', 'stdio --tls: POP3_TLS=1');
	is($env->{IP}, '198.51.100.23', 'stdio --tls: IP=198.51.100.23');
	like($c->cmd('STAT') // '', qr/^\+OK 1 \d+$/, 'STAT');
	my @m = $c->multi('RETR 1');
	like(join("\n", @m), qr/for bob over stdio/, 'RETR');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	is(wait_pid($pid, 5), 0, 'the session exits 0');
}

# --- a client that trusts another CA -------------------------------------------------------

{
	my $mark = log_mark();
	my ($s, $err) = tls_connect(port => $PORTS, ca => $C->{other_ca});
	ok(!$s, 'POP3 --tls, client trusting only the other CA: handshake fails');
	like($err, qr/verify failed/i, "client: $err");
	ok(wait_for_event('pop3 tls-failed', { ip => '127.0.0.1' }, 5, $mark), 'log: pop3 tls-failed')
		or diag(log_text($mark));
	my $pop = Net::POP3->new('127.0.0.1', Port => $PORTS, SSL => 1, Timeout => 5,
				 tls_options(ca => $C->{other_ca}));
	ok(!$pop, 'Net::POP3 with the other CA: no connection');

	my ($s2, $pid) = stdio_session($conf, 'pop3', '--tls');
	ok(!tls_upgrade($s2, ca => $C->{other_ca}), 'stdio --tls, other CA: handshake fails');
	my $st = wait_pid($pid, 5);
	ok(defined $st && !($st & 127), 'pd exits, not by a signal');
}

# --- STLS ------------------------------------------------------------------------------------

{
	my $mark = log_mark();
	my $c = PD::Test::POP3->new($PORT);
	like($c->getline // '', qr/^\+OK /, 'plaintext greeting');
	my ($capa, $st) = capa($c);
	like($st // '', qr/^\+OK/, 'CAPA before TLS');
	ok($capa->{STLS}, 'CAPA before TLS: STLS');
	ok($capa->{USER}, 'CAPA before TLS from a trusted address: USER');
	is($c->cmd('STLS'), '+OK Begin TLS negotiation.', 'STLS: the exact reply');
	ok($c->start_tls(tls_options()), 'verifying handshake after STLS') or diag($c->{tls_error});
	($capa, $st) = capa($c);
	like($st // '', qr/^\+OK/, 'CAPA inside TLS');
	ok(!$capa->{STLS}, 'CAPA after STLS: no STLS');
	ok($capa->{USER} && $capa->{'SASL PLAIN LOGIN'}, 'CAPA after STLS: USER, SASL PLAIN LOGIN');
	like($c->cmd('STLS') // '', qr/^-ERR /, 'a second STLS: -ERR');
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER inside TLS');
	is($c->cmd("PASS $PW"), '+OK Logged in.', 'PASS inside TLS');
	ok(wait_for_event('pop3 login', { user => 'alice', ip => '127.0.0.1', tls => $TLS13 }, 5, $mark),
	   "log: pop3 login tls=$TLS13 after STLS") or diag(log_text($mark));
	check_relay($c->sock, 'STLS', '127.0.0.1', 'alice');
	like($c->cmd('STAT') // '', qr/^\+OK 1 \d+$/, 'STAT');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
	is($c->read_to_eof(5), '', 'closed after QUIT');
	ok(wait_for_event('pop3 end', { user => 'alice', reason => 'backend-closed' }, 5, $mark),
	   'log: pop3 end reason=backend-closed');
}

{
	my $pop = Net::POP3->new('127.0.0.1', Port => $PORT, Timeout => 10, tls_options());
	ok($pop, 'Net::POP3 plaintext connection');
	if ($pop) {
		ok($pop->starttls(tls_options()), 'Net::POP3 starttls') or diag($IO::Socket::SSL::SSL_ERROR);
		ok($pop->isa('IO::Socket::SSL'), 'now TLS');
		is($pop->login('bob', $u{bob}{password}), 1, 'login after STLS: one message');
		ok($pop->quit, 'QUIT');
	} else {
		fail('no connection: the checks that need it could not run');
	}
}

# USER before STLS is forgotten: RFC 2595 §4, the server discards what it
# learned from the client before TLS
{
	my $c = PD::Test::POP3->new($PORT);
	$c->getline;
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER before STLS (trusted client)');
	is($c->cmd('STLS'), '+OK Begin TLS negotiation.', 'then STLS');
	ok($c->start_tls(tls_options()), 'handshake');
	like($c->cmd("PASS $PW") // '', qr/^-ERR /, 'PASS inside TLS: the USER from before TLS is gone');
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER again inside TLS');
	is($c->cmd("PASS $PW"), '+OK Logged in.', 'and PASS logs in');
	$c->cmd('QUIT');
}

# pipelined over TLS: everything after PASS reaches Dovecot through the relay
{
	my ($s) = tls_connect(port => $PORTS);
	my $c = PD::Test::POP3->new($s);
	$c->getline;
	$c->send_raw("USER bob\r\nPASS $u{bob}{password}\r\nSTAT\r\nNOOP\r\nQUIT\r\n");
	like($c->getline // '', qr/^\+OK/, 'pipelined over TLS: USER');
	is($c->getline, '+OK Logged in.', 'pipelined over TLS: PASS');
	like($c->getline // '', qr/^\+OK \d+ \d+$/, 'pipelined over TLS: STAT from Dovecot');
	like($c->getline // '', qr/^\+OK/, 'pipelined over TLS: NOOP from Dovecot');
	like($c->getline // '', qr/^\+OK/, 'pipelined over TLS: QUIT');
	is($c->read_to_eof(5), '', 'then the connection closes');
}

# --- STLS injection --------------------------------------------------------------------------

for my $how (qw(inetd stdio)) {
	my $mark = log_mark();
	my $c;
	if ($how eq 'inetd') {
		$c = PD::Test::POP3->new($PORT);
	} else {
		my ($s) = stdio_session($conf, 'pop3', '--client-ip', '127.0.0.9');
		$c = PD::Test::POP3->new($s);
	}
	like($c->getline // '', qr/^\+OK /, "$how injection: greeting");
	my $inject = "USER alice\r\n";
	$c->send_raw("STLS\r\n$inject");
	is($c->getline, '+OK Begin TLS negotiation.', "$how injection: STLS OK");
	ok($c->quiet(0.3), "$how injection: nothing more in plaintext (USER not answered)");
	ok($c->start_tls(tls_options()), "$how injection: handshake") or diag($c->{tls_error});
	my $r = $c->cmd("PASS $PW") // '';
	like($r, qr/^-ERR /, "$how injection: PASS inside TLS finds no USER (the pipelined one was dropped)");
	isnt($r, '+OK Logged in.', "$how injection: no login from the injected USER");
	my $ev = wait_for_event('pop3 starttls', { discarded => length($inject) }, 5, $mark);
	ok($ev, "$how injection: log: pop3 starttls discarded=" . length($inject)) or diag(log_text($mark));
	is($ev && $ev->{ip}, $how eq 'inetd' ? '127.0.0.1' : '127.0.0.9', "$how injection: with the ip");
	# "session=ID: client pipelined ...": the free text follows a colon
	(my $sid = $ev ? $ev->{session} : 'none') =~ s/:$//;
	ok(!wait_for_event('pop3 login', { session => $sid }, 0.2, $mark), "$how injection: no login");
	like($c->cmd('USER alice') // '', qr/^\+OK/, "$how injection: USER inside TLS");
	is($c->cmd("PASS $PW"), '+OK Logged in.', "$how injection: then PASS logs in");
	ok(wait_for_event('pop3 login', { session => $sid, user => 'alice', tls => $TLS13 }, 5, $mark),
	   "$how injection: that login is logged, on TLS");
	like($c->cmd('QUIT') // '', qr/^\+OK/, "$how injection: QUIT");
}

# --- a 5 MB message through the relay ------------------------------------------------------

{
	my $line = join('', map { chr(33 + ($_ * 11) % 94) } 0 .. 69);
	$line =~ s/^\./x/;
	my $n = 5 * 1024 * 1024 / 80;
	my $text = message("pop-big-$$", join('', map { sprintf("%08d %s\n", $_, $line) } 1 .. $n));
	put_message($u{bob}, $text);
	(my $crlf = $text) =~ s/\n/\r\n/g;
	my $mark = log_mark();
	my ($s, $err) = tls_connect(port => $PORTS);
	my $c = PD::Test::POP3->new($s);
	$c->getline;
	is($c->cmd('AUTH PLAIN ' . sasl_plain('bob', $u{bob}{password})), '+OK Logged in.', 'big: login');
	my $login = wait_for_event('pop3 login', { user => 'bob', port => $s->sockport }, 5, $mark);
	my @list = $c->multi('LIST');
	my ($num) = map { /^(\d+) (\d+)$/ && $2 > 5_000_000 ? $1 : () } @list[1 .. $#list];
	ok($num, 'big: LIST shows the 5 MB message') or diag(explain(\@list));
	my @m = $c->multi('RETR ' . ($num // 1), 20);
	my $got = join("\r\n", @m[1 .. $#m]) . "\r\n";
	is(length($got), length($crlf), 'big: RETR: every byte');
	is(sha256_hex($got), sha256_hex($crlf), 'big: RETR: byte-identical (sha256, CRLF line ends)');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'big: QUIT');
	my $ev = wait_for_event('pop3 end', { reason => 'backend-closed',
		session => $login ? $login->{session} : 'none' }, 10, $mark);
	ok($ev, 'big: log: pop3 end') or diag(log_text($mark));
	cmp_ok($ev ? $ev->{out} : 0, '>=', length($crlf), 'big: out= counts the 5 MB RETR');
	cmp_ok($ev ? $ev->{in} : 1e9, '<', 100, 'big: in= only the few command bytes');
}

# --- openssl s_client -starttls pop3 -------------------------------------------------------------

{
	my $mark = log_mark();
	my $r = run_cmd({ stdin => "USER alice\r\nPASS $PW\r\nSTAT\r\nQUIT\r\n", timeout => 15 },
			'openssl', 's_client', '-connect', "127.0.0.1:$PORT", '-starttls', 'pop3',
			'-CAfile', $C->{ca}, '-verify_return_error', '-verify_hostname', 'localhost',
			'-quiet');
	is($r->{rc}, 0, 'openssl s_client -starttls pop3: exit 0') or diag($r->{err});
	like($r->{out}, qr/^\+OK Logged in\.\r?$/m, 's_client: logged in') or diag($r->{out});
	like($r->{out}, qr/^\+OK \d+ \d+\r?$/m, 's_client: STAT answered by Dovecot');
	ok(wait_for_event('pop3 login', { user => 'alice', tls => qr{^TLSv1\.3/} }, 5, $mark),
	   'log: on TLS');
}

finish(map({ $_->{password} } values %u), sasl_plain('bob', $u{bob}{password}));
