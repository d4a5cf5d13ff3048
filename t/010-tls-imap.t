#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# IMAP over TLS: implicit TLS (993 style) through the real inetd and through
# "pd-forker-stdio --tls" with verifying clients, a client that trusts
# another CA, STARTTLS and the capabilities before and after it, the
# STARTTLS command-injection attack, the relay pd keeps in the path for a
# TLS client (a 20 MB message in and out, byte-identical, the byte counts
# logged, Dovecot told IMAP_TLS=1 and the real address), openssl s_client,
# and certificates chosen by SNI.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use List::Util ();
use Mail::IMAPClient;
use Test::More;
use Time::HiRes qw(time);

use PD::Test qw(:all);
use PD::Test::IMAP;

my $C = make_certs();
my $dir = testdir();
my $REC_IMAP = env_recorder($PD::Test::DOVECOT_IMAP);
my %vars = (CERT => $C->{cert}, KEY => $C->{key}, SNI_CERT => $C->{sni}{cert},
	    SNI_KEY => $C->{sni}{key}, SNI_DIR => $C->{sni_dir}, REC => $REC_IMAP);
my $conf = write_conf(<<'EOF', %vars);
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = %%REC%%
pop3 = /usr/lib/dovecot/pop3

[tls]
cert = %%CERT%%
key = %%KEY%%
sni_dir = %%SNI_DIR%%

[tls mail.example.test]
cert = %%SNI_CERT%%
key = %%SNI_KEY%%
EOF

my %u = (
	alice => { user => 'alice', password => 'Alice-tls-pw-101', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-tls-pw-102', scheme => 'SSHA256', uid => 5001 },
);
make_user_file(@u{qw(alice bob)});
my $PW = $u{alice}{password};
my ($PORT, $PORTS) = (port('IMAP'), port('IMAPS'));
start_inetd({ port => $PORT, proto => 'imap', conf => $conf },
	    { port => $PORTS, proto => 'imap', conf => $conf, args => ['--tls'] });

my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $TLS13 = 'TLSv1.3/TLS_AES_256_GCM_SHA384';
my $INET = PD::Test::bin('pd-forker-inet');

sub caps_of {
	my ($line) = @_;
	my ($c) = ($line // '') =~ /CAPABILITY ([^\]]*)/;
	return { map { uc($_) => 1 } split ' ', $c // '' };
}

# The CAPABILITY command's capabilities.
sub capability {
	my ($c, $tag) = @_;
	my @l = $c->cmd("$tag CAPABILITY");
	my ($u) = grep { /^\* CAPABILITY / } @l;
	return (caps_of($u), $l[-1]);
}

# A raw implicit-TLS connection through inetd, greeting read.
sub imaps {
	my (%o) = @_;
	my ($s, $err) = tls_connect(port => $PORTS, %o);
	return (undef, $err) unless $s;
	my $c = PD::Test::IMAP->new($s);
	$c->{greeting} = $c->getline;
	return ($c, '');
}

# The processes behind our TCP connection SOCK: pd (the relay) and its
# Dovecot child.
sub relay_and_backend {
	my ($sock) = @_;
	my @p = tcp_peer_procs($sock);
	my @b = @p == 1 ? grep { $_->{exe} eq $PD::Test::DOVECOT_IMAP } proc_tree($p[0]{pid}) : ();
	return (\@p, \@b);
}

sub check_relay {
	my ($sock, $name, $ip) = @_;
	my ($p, $b) = relay_and_backend($sock);
	is_deeply([map { $_->{exe} } @$p], [$INET],
		  "$name: pd-forker-inet holds the client socket (the TLS relay)")
		or diag(explain($p));
	is(scalar(@$b), 1, "$name: one Dovecot imap below it");
	my $nobody = getpwnam('nobody');
	is_deeply(@$p ? [@{$p->[0]{uid}}[0 .. 2]] : [], [$nobody, $nobody, $nobody],
		  "$name: the relay runs as relay_user (nobody), not as root");
	return unless @$b;
	is_deeply([@{$b->[0]{uid}}[0 .. 2]], [5000, 5000, 5000], "$name: Dovecot runs as alice");
	my @fd0 = (readlink("/proc/$b->[0]{pid}/fd/0") // '') =~ /^socket:\[(\d+)\]$/;
	ok(@fd0, "$name: Dovecot's stdin is a socket");
	my $env = backend_env($b->[0]{pid});
	is($env->{IMAP_TLS}, '1', "$name: Dovecot has IMAP_TLS=1");
	is($env->{IP}, $ip, "$name: Dovecot has IP=$ip");
	is($env->{USER}, 'alice', "$name: and USER=alice");
}

# --- implicit TLS through inetd: Mail::IMAPClient, a whole session -------------------

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $PORTS,
					 Ssl => [tls_options()], User => 'alice', Password => $PW,
					 Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'implicit TLS via inetd: Mail::IMAPClient (Ssl) logs in')
		or diag($@);
	if ($imap && $imap->IsAuthenticated) {
		my $sock = $imap->Socket;
		ok($sock->isa('IO::Socket::SSL'), 'the connection is TLS');
		is($sock->peer_certificate('cn'), 'localhost', 'with the default certificate (CN localhost)');
		my $ev = wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1',
			port => $sock->sockport, backend => 'dovecot', method => 'LOGIN',
			tls => $TLS13, session => qr/^\S+$/ }, 5, $mark);
		ok($ev, "log: imap login user=alice ... method=LOGIN tls=$TLS13")
			or diag(log_text($mark));
		check_relay($sock, 'implicit TLS', '127.0.0.1');

		ok($imap->select('INBOX'), 'SELECT INBOX') or diag($imap->LastError);
		my $msgid = "<pd-010-$$-a\@test.local>";
		my $uid = $imap->append_string('INBOX', "From: t\@test.local\r\nSubject: 010\r\n"
					       . "Message-ID: $msgid\r\n\r\nover implicit TLS\r\n");
		ok($uid, 'APPEND over TLS') or diag($imap->LastError);
		ok(find_message($u{alice}{maildir}, $msgid), 'the message is a file in the maildir');
		$imap->select('INBOX');
		like($imap->message_string($uid) // '', qr/over implicit TLS/, 'FETCH it back over TLS');
		ok($imap->delete_message($uid) && $imap->expunge, 'STORE \\Deleted, EXPUNGE');
		ok(!find_message($u{alice}{maildir}, $msgid), 'the file is gone');
		ok($imap->logout, 'LOGOUT');
		# Mail::IMAPClient closes right after the LOGOUT reply: which side
		# pd sees closing first is a race
		my $end = wait_for_event('imap end', { user => 'alice', ip => '127.0.0.1',
			reason => qr/^(backend|client)-closed$/, in => qr/^[1-9]\d*$/, out => qr/^[1-9]\d*$/,
			secs => qr/^\d+(\.\d+)?$/, session => $ev ? $ev->{session} : qr/./ }, 5, $mark);
		ok($end, 'log: imap end user=alice in=N out=M secs=S reason=backend-closed (or client-closed), same session')
			or diag(log_text($mark));
	} else {
		fail('no session: the checks that need it could not run');
	}
}

# raw: the greeting inside TLS, capabilities without STARTTLS
{
	my ($c, $err) = imaps();
	ok($c, 'raw implicit TLS connection') or diag($err);
	like($c->{greeting} // '', qr/^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] \S/, 'the greeting comes inside TLS');
	my $g = caps_of($c->{greeting});
	ok(!$g->{STARTTLS}, 'greeting on TLS: no STARTTLS');
	ok($g->{'AUTH=PLAIN'} && !$g->{LOGINDISABLED}, 'greeting on TLS: AUTH=PLAIN, no LOGINDISABLED');
	my ($caps, $ok) = capability($c, 'c1');
	ok(!$caps->{STARTTLS}, 'CAPABILITY on TLS: no STARTTLS');
	ok($caps->{'AUTH=PLAIN'} && $caps->{'AUTH=LOGIN'}, 'CAPABILITY on TLS: AUTH=PLAIN AUTH=LOGIN');
	like($ok // '', qr/^c1 OK/, 'CAPABILITY OK');
	like(scalar $c->cmd('c2 STARTTLS') // '', qr/^c2 BAD /, 'STARTTLS on an implicit TLS connection: BAD');
	like(scalar $c->cmd('c3 NOOP') // '', qr/^c3 OK/, 'the session goes on');
	my @l = $c->cmd('c4 LOGOUT');
	like($l[-1] // '', qr/^c4 OK/, 'pre-login LOGOUT over TLS');
}

# --- implicit TLS through pd-forker-stdio --tls --------------------------------------------

{
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf, 'imap', '--tls', '--client-ip', '192.0.2.44');
	my ($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'pd-forker-stdio --tls: verifying handshake') or diag($err);
	my $imap = $ssl && Mail::IMAPClient->new(Socket => $ssl, User => 'alice', Password => $PW,
						  Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'stdio --tls: Mail::IMAPClient logs in')
		or diag($@ // '', $imap ? $imap->LastError : '');
	if ($imap && $imap->IsAuthenticated) {
		ok(wait_for_event('imap login', { user => 'alice', ip => '192.0.2.44', tls => $TLS13,
						  method => 'LOGIN' }, 5, $mark),
		   'log: imap login ip=192.0.2.44 (the --client-ip address) tls=...')
			or diag(log_text($mark));
		my @b = backend_procs($pid, $PD::Test::DOVECOT_IMAP);
		is(scalar(@b), 1, 'stdio --tls: Dovecot runs below pd');
		my $env = @b ? backend_env($b[0]{pid}) : {};
		is($env->{IMAP_TLS}, '1', 'stdio --tls: Dovecot has IMAP_TLS=1');
		is($env->{IP}, '192.0.2.44', 'stdio --tls: Dovecot has IP=192.0.2.44');
		ok($imap->select('INBOX'), 'SELECT');
		my $msgid = "<pd-010-$$-s\@test.local>";
		my $uid = $imap->append_string('INBOX', "Subject: s\r\nMessage-ID: $msgid\r\n\r\nstdio tls\r\n");
		ok($uid, 'APPEND');
		$imap->select('INBOX');
		like($imap->message_string($uid) // '', qr/stdio tls/, 'FETCH');
		ok($imap->logout, 'LOGOUT');
		is(wait_pid($pid, 5), 0, 'stdio --tls: the session exits 0');
	} else {
		fail('no session: the checks that need it could not run');
	}
}

# --- a client that trusts another CA ------------------------------------------------------

{
	my $mark = log_mark();
	my ($s, $err) = tls_connect(port => $PORTS, ca => $C->{other_ca});
	ok(!$s, 'inetd --tls, client trusting only the other CA: handshake fails');
	like($err, qr/certificate verify failed|verify/i, "the client's reason: $err");
	my $ev = wait_for_event('imap tls-failed', { ip => '127.0.0.1', session => qr/\S/ }, 5, $mark);
	ok($ev, 'log: imap tls-failed ip=127.0.0.1') or diag(log_text($mark));
	ok(!wait_for_event('imap login', {}, 0.2, $mark), 'no login');

	# the server still serves the next client
	my ($c) = imaps();
	like($c ? $c->{greeting} : '', qr/^\* OK/, 'the next verifying client gets its greeting');
	$c->cmd('x LOGOUT') if $c;

	$mark = log_mark();
	my ($s2, $pid) = stdio_session($conf, 'imap', '--tls');
	my ($ssl, $err2) = tls_upgrade($s2, ca => $C->{other_ca});
	ok(!$ssl, 'stdio --tls, other CA: handshake fails');
	my $st = wait_pid($pid, 5);
	ok(defined $st, 'stdio --tls: pd exits after the failed handshake');
	is(($st // 0) & 127, 0, 'not by a signal');
	ok(wait_for_event('imap tls-failed', { ip => 'local' }, 5, $mark), 'log: imap tls-failed ip=local');
}

# a plaintext client on the TLS port: no plaintext greeting, nothing executed
{
	my $mark = log_mark();
	my $c = PD::Test::IMAP->new($PORTS);
	$c->send_raw("a1 LOGIN alice $PW\r\na2 LOGOUT\r\n");
	my $all = $c->read_to_eof(5);
	ok(defined $all, 'plaintext on the TLS port: pd closes the connection');
	unlike($all // '', qr/\* OK|a1 |a2 /, 'without a plaintext greeting or reply');
	ok(wait_for_event('imap tls-failed', { ip => '127.0.0.1' }, 5, $mark), 'log: tls-failed');
	ok(!wait_for_event('imap login', {}, 0.2, $mark), 'no login');
}

# hostile TLS clients on the TLS port: each session ends, none crashes pd
{
	my $mark = log_mark();
	my @hostile = (
		['connect and close', ''],
		['garbage', "\x16\x03\x01\x00\x05hello" . ("\xff" x 64)],
		['half a ClientHello', "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\0" x 40)],
		['an HTTP request', "GET / HTTP/1.0\r\n\r\n"],
	);
	for my $h (@hostile) {
		my $c = PD::Test::Conn->new($PORTS);
		$c->send_raw($h->[1]) if length $h->[1];
		if ($h->[0] eq 'half a ClientHello') {
			$c->close;
			next;
		}
		$c->sock->shutdown(1);
		ok(defined $c->read_to_eof(5), "TLS port, $h->[0]: pd closes the connection");
	}
	my $end = time + 5;
	my @e;
	while (time < $end) {
		@e = grep { /\bimap end ip=127\.0\.0\.1 .*reason=/ } split /\n/, log_text($mark);
		last if @e >= @hostile;
		select(undef, undef, undef, 0.05);
	}
	is(scalar(@e), scalar(@hostile), 'every hostile session logs its end') or diag(log_text($mark));
	ok(!grep({ !/reason=(tls-failed|disconnected|read-error|write-error)\b/ } @e),
	   'with a TLS or connection failure as the reason') or diag(join "\n", @e);
	my ($c) = imaps();
	like($c ? $c->{greeting} : '', qr/^\* OK/, 'a verifying client after them is served');
	$c->cmd('x LOGOUT') if $c;
}

# --- STARTTLS ------------------------------------------------------------------------------

{
	my $mark = log_mark();
	my $c = PD::Test::IMAP->new($PORT);
	my $g = $c->getline // '';
	like($g, qr/^\* OK \[CAPABILITY IMAP4rev1 /, 'plaintext greeting');
	ok(caps_of($g)->{STARTTLS}, 'greeting before TLS: STARTTLS');
	my ($caps, $ok) = capability($c, 's1');
	ok($caps->{STARTTLS}, 'CAPABILITY before TLS: STARTTLS');
	ok($caps->{'AUTH=PLAIN'}, 'CAPABILITY before TLS from a trusted address: AUTH=PLAIN');
	like($ok // '', qr/^s1 OK/, 'CAPABILITY OK');
	is(scalar $c->cmd('s2 STARTTLS'), 's2 OK Begin TLS negotiation now.', 'STARTTLS: the exact reply');
	ok($c->start_tls(tls_options()), 'verifying handshake after STARTTLS') or diag($c->{tls_error});
	is($c->sock->peer_certificate('cn'), 'localhost', 'default certificate');
	($caps, $ok) = capability($c, 's3');
	ok(!$caps->{STARTTLS}, 'CAPABILITY after STARTTLS: no STARTTLS');
	ok($caps->{IMAP4REV1} && $caps->{'AUTH=PLAIN'} && $caps->{'AUTH=LOGIN'},
	   'CAPABILITY after STARTTLS: IMAP4rev1 AUTH=PLAIN AUTH=LOGIN');
	ok(!$caps->{LOGINDISABLED}, 'and no LOGINDISABLED');
	like($ok // '', qr/^s3 OK/, 'CAPABILITY OK inside TLS');
	like(scalar $c->cmd('s4 STARTTLS') // '', qr/^s4 BAD /, 'a second STARTTLS: BAD');
	like(scalar $c->cmd("s5 LOGIN alice $PW") // '', $LOGGED_IN, 'LOGIN inside TLS');
	ok(wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1', tls => $TLS13,
					  method => 'LOGIN' }, 5, $mark), "log: tls=$TLS13 after STARTTLS")
		or diag(log_text($mark));
	check_relay($c->sock, 'STARTTLS', '127.0.0.1');
	like(scalar $c->cmd('s6 SELECT INBOX') // '', qr/^s6 OK \[READ-WRITE\]/, 'SELECT');
	my @l = $c->cmd('s7 LOGOUT');
	like($l[-1] // '', qr/^s7 OK/, 'LOGOUT');
	is($c->read_to_eof(5), '', 'closed after LOGOUT');
	ok(wait_for_event('imap end', { user => 'alice', reason => 'backend-closed' }, 5, $mark),
	   'log: imap end reason=backend-closed');
}

{
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $PORT,
					 Starttls => [tls_options()], User => 'bob',
					 Password => $u{bob}{password}, Timeout => 10);
	ok($imap && $imap->IsAuthenticated, 'Mail::IMAPClient with Starttls logs in')
		or diag($@);
	ok($imap && $imap->Socket->isa('IO::Socket::SSL'), 'over TLS');
	ok($imap && $imap->select('INBOX'), 'SELECT');
	$imap->logout if $imap;
}

# the same port without STARTTLS (127.0.0.1 is trusted): no relay, no IMAP_TLS
{
	my $c = PD::Test::IMAP->new($PORT);
	$c->getline;
	like(scalar $c->cmd("p1 LOGIN alice $PW") // '', $LOGGED_IN, 'plaintext LOGIN from the trusted 127.0.0.1');
	my @p = tcp_peer_procs($c->sock);
	is_deeply([map { $_->{exe} } @p], [$PD::Test::DOVECOT_IMAP],
		  'plaintext: Dovecot holds the client socket itself (no relay)');
	my $env = @p ? backend_env($p[0]{pid}) : {};
	is($env->{IP}, '127.0.0.1', 'plaintext: IP=127.0.0.1');
	ok(!exists $env->{IMAP_TLS}, 'plaintext: no IMAP_TLS') or diag("IMAP_TLS=$env->{IMAP_TLS}");
	$c->cmd('p2 LOGOUT');
}

# --- STARTTLS injection: bytes pipelined after STARTTLS are never executed -------------------

for my $how (qw(inetd stdio)) {
	my $mark = log_mark();
	my ($c, $pid);
	if ($how eq 'inetd') {
		$c = PD::Test::IMAP->new($PORT);
	} else {
		my $s;
		($s, $pid) = stdio_session($conf, 'imap', '--client-ip', '127.0.0.9');
		$c = PD::Test::IMAP->new($s);
	}
	like($c->getline // '', qr/^\* OK/, "$how injection: greeting");
	my $inject = "b LOGIN alice $PW\r\n";
	$c->send_raw("x NOOP\r\na STARTTLS\r\n$inject");
	like($c->getline // '', qr/^x OK/, "$how injection: the NOOP before STARTTLS is answered");
	is($c->getline, 'a OK Begin TLS negotiation now.', "$how injection: STARTTLS OK");
	ok($c->quiet(0.3) || $c->{buf} eq '', "$how injection: nothing more in plaintext");
	ok($c->start_tls(tls_options()), "$how injection: the handshake") or diag($c->{tls_error});
	my @l = $c->cmd('c NOOP');
	is(scalar(@l), 1, "$how injection: c NOOP gets one line") or diag(explain(\@l));
	like($l[0] // '', qr/^c OK/, "$how injection: only c's reply, never b's");
	ok(!grep({ /^b / } @l), "$how injection: b is not answered");
	my ($caps) = capability($c, 'd');
	ok($caps->{'AUTH=PLAIN'} && !$caps->{STARTTLS}, "$how injection: still pre-login (pd's capabilities)");
	my $ev = wait_for_event('imap starttls', { discarded => length($inject), session => qr/\S/ },
				5, $mark);
	ok($ev, "$how injection: log: imap starttls discarded=" . length($inject))
		or diag(log_text($mark));
	is($ev && $ev->{ip}, $how eq 'inetd' ? '127.0.0.1' : '127.0.0.9', "$how injection: with the ip");
	# "session=ID: client pipelined ...": the free text follows a colon
	(my $sid = $ev ? $ev->{session} : 'none') =~ s/:$//;
	ok(!wait_for_event('imap login', { session => $sid }, 0.2, $mark),
	   "$how injection: the pipelined LOGIN never ran");
	like(scalar $c->cmd("e LOGIN alice $PW") // '', $LOGGED_IN, "$how injection: a LOGIN sent inside TLS works");
	ok(wait_for_event('imap login', { session => $sid, user => 'alice', tls => $TLS13 }, 5, $mark),
	   "$how injection: that one is logged, on TLS");
	$c->cmd('f LOGOUT');
	ok(wait_for_event('imap end', { session => $sid, reason => 'backend-closed' }, 5, $mark),
	   "$how injection: session end");
}

# --- the relay: pipelining, exact byte counts, either side going away ---------------------------

# LOGIN, a 200 KB APPEND and a NOOP in one TLS write: pd has read part of it
# before the login; Dovecot must get all of it, in order
{
	my $msgid = "<pd-010-$$-pipe\@test.local>";
	my $msg = "Subject: pipelined\r\nMessage-ID: $msgid\r\n\r\n"
		. join('', map { sprintf("pipelined line %06d ..........................................\r\n", $_) } 1 .. 3000);
	my ($c, $err) = imaps();
	ok($c, 'pipelining: TLS connection') or diag($err);
	$c->send_raw("p1 LOGIN alice $PW\r\np2 APPEND INBOX {" . length($msg) . "+}\r\n$msg\r\np3 NOOP\r\n"
		     . "p4 SELECT INBOX\r\n");
	like($c->tagged('p1') // '', $LOGGED_IN, 'pipelined over TLS: LOGIN');
	my $ap = $c->tagged('p2', 10) // '';
	like($ap, qr/^p2 OK \[APPENDUID \d+ \d+\]/, 'pipelined over TLS: the 200 KB APPEND sent with it');
	like($c->tagged('p3') // '', qr/^p3 OK/, 'pipelined over TLS: NOOP after it');
	like($c->tagged('p4') // '', qr/^p4 OK \[READ-WRITE\]/, 'pipelined over TLS: SELECT');
	my ($uid) = $ap =~ /APPENDUID \d+ (\d+)/;
	$c->send('p5 UID FETCH ' . ($uid // 0) . ' BODY.PEEK[]');
	my ($len) = ($c->lines_until(qr/^\* \d+ FETCH .*\{\d+\}$/) // '') =~ /\{(\d+)\}$/;
	my $got = $c->read_exact($len // 0) // '';
	is(sha256_hex($got), sha256_hex($msg), 'the pipelined message arrived intact');
	$c->tagged('p5');
	$c->cmd('p6 LOGOUT');
}

# in= and out= are the bytes after the login, to the byte
{
	my $mark = log_mark();
	my ($s, $err) = tls_connect(port => $PORTS);
	my $c = PD::Test::IMAP->new($s);
	$c->getline;
	$c->send("b1 LOGIN alice $PW");
	my $rx = '';
	my @l = $c->tagged('b1');
	$rx .= "$_\r\n" for @l;
	like($l[-1] // '', $LOGGED_IN, 'counting: LOGIN');
	my $login = wait_for_event('imap login', { port => $s->sockport }, 5, $mark);
	my $tx = '';
	for my $cmd ('b2 SELECT INBOX', 'b3 NOOP', 'b4 LOGOUT') {
		$tx .= "$cmd\r\n";
		$rx .= "$_\r\n" for $c->cmd($cmd);
	}
	$rx .= $c->read_to_eof(5) // '';
	my $ev = wait_for_event('imap end', { user => 'alice', reason => 'backend-closed',
		session => $login ? $login->{session} : 'none' }, 5, $mark);
	ok($ev, 'counting: imap end') or diag(log_text($mark));
	is($ev && $ev->{in}, length($tx), 'in= is exactly the bytes the client sent after the login');
	is($ev && $ev->{out}, length($rx), 'out= is exactly the bytes the client got from the login reply on');
}

# the client goes away in the middle of a session: pd and Dovecot go too
{
	my $mark = log_mark();
	my ($c) = imaps();
	like(scalar $c->cmd("g1 LOGIN alice $PW") // '', $LOGGED_IN, 'client vanishes: LOGIN');
	like(scalar $c->cmd('g2 SELECT INBOX') // '', qr/^g2 OK/, 'SELECT');
	my ($p, $b) = relay_and_backend($c->sock);
	ok(@$p == 1 && @$b == 1, 'pd and Dovecot serve it');
	my $login = wait_for_event('imap login', { port => $c->sock->sockport }, 5, $mark);
	$c->sock->close(SSL_no_shutdown => 1);	# no close_notify: the TCP connection just ends
	my $ev = wait_for_event('imap end', { user => 'alice', session => $login ? $login->{session} : 'none' },
				5, $mark);
	ok($ev, 'client vanishes: imap end logged (reason=' . ($ev ? $ev->{reason} : '') . ')')
		or diag(log_text($mark));
	my $gone = 0;
	for (1 .. 100) {
		$gone = !grep { -e "/proc/$_->{pid}" && (proc_info($_->{pid}) // {})->{exe} } @$p, @$b;
		last if $gone;
		select(undef, undef, undef, 0.05);
	}
	ok($gone, 'client vanishes: the relay and Dovecot exit');
}

# Dovecot dies in the middle of a session: the client is told by the connection closing
{
	my $mark = log_mark();
	my ($c) = imaps();
	like(scalar $c->cmd("k1 LOGIN alice $PW") // '', $LOGGED_IN, 'backend dies: LOGIN');
	my ($p, $b) = relay_and_backend($c->sock);
	ok(@$b == 1, 'Dovecot serves it');
	my $login = wait_for_event('imap login', { port => $c->sock->sockport }, 5, $mark);
	kill 'KILL', $b->[0]{pid} if @$b;
	ok(defined $c->read_to_eof(5), 'backend killed: the client connection is closed');
	my $ev = wait_for_event('imap end', { user => 'alice', session => $login ? $login->{session} : 'none' },
				5, $mark);
	ok($ev, 'backend killed: imap end logged') or diag(log_text($mark));
	like($ev ? $ev->{_line} : '', qr/backend-status=failed/, 'with backend-status=failed');
}

# --- a 20 MB message through the relay ----------------------------------------------------

{
	my $mark = log_mark();
	my $msgid = "<pd-010-$$-big\@test.local>";
	my $line = join('', map { chr(33 + ($_ * 7) % 94) } 0 .. 69);
	my $body = "From: big\@test.local\r\nTo: alice\@test.local\r\nSubject: 20 MB\r\n"
		. "Message-ID: $msgid\r\n\r\n";
	my $n = int((20 * 1024 * 1024 - length $body) / 80) + 1;
	$body .= join('', map { sprintf("%08d %s\r\n", $_, $line) } 1 .. $n);
	my $size = length $body;
	my $sha = sha256_hex($body);
	cmp_ok($size, '>=', 20 * 1024 * 1024, "a $size-byte message");

	my ($c, $err) = imaps();
	ok($c, 'implicit TLS for the big message') or diag($err);
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, 'LOGIN');
	my $login = wait_for_event('imap login', { user => 'alice', port => $c->sock->sockport }, 5, $mark);
	ok($login, 'log: the login of the big session');
	like(scalar $c->cmd('a2 SELECT INBOX') // '', qr/^a2 OK/, 'SELECT');
	my $t0 = time;
	ok($c->send_raw("a3 APPEND INBOX {$size+}\r\n$body\r\n"), 'the 20 MB APPEND is sent');
	my $ap = $c->tagged('a3', 30) // '';
	like($ap, qr/^a3 OK \[APPENDUID \d+ \d+\]/, 'APPEND OK with APPENDUID');
	my ($uid) = $ap =~ /APPENDUID \d+ (\d+)/;
	$uid //= 0;
	$c->cmd('a4 NOOP');
	$c->send("a5 UID FETCH $uid BODY.PEEK[]");
	my $head = $c->lines_until(qr/^\* \d+ FETCH .*\{\d+\}$/, 30) // '';
	my ($len) = $head =~ /\{(\d+)\}$/;
	is($len, $size, 'FETCH: a literal of the same size');
	my $got = $c->read_exact($len // 0, 30) // '';
	is(length($got), $size, 'all of it arrives');
	is(sha256_hex($got), $sha, 'FETCH BODY[]: byte-identical (sha256)');
	like($c->getline(10) // '', qr/^\s*(UID \d+\s*)?\)$/, 'the FETCH response ends');
	like($c->tagged('a5', 10) // '', qr/^a5 OK/, 'UID FETCH OK');
	my $secs = time - $t0;
	cmp_ok($secs, '<', 20, sprintf('in and out in %.1f s', $secs));

	# a client that reads slowly: pd must hold the data back, not lose it
	$c->send("a5b UID FETCH $uid BODY.PEEK[]");
	select(undef, undef, undef, 1);
	$head = $c->lines_until(qr/^\* \d+ FETCH .*\{\d+\}$/, 30) // '';
	($len) = $head =~ /\{(\d+)\}$/;
	my $slow = '';
	while (length($slow) < ($len // 0)) {
		my $part = $c->read_exact(List::Util::min(1 << 20, $len - length $slow), 30) // last;
		$slow .= $part;
		select(undef, undef, undef, 0.02);
	}
	is(sha256_hex($slow), $sha, 'a second FETCH read slowly: byte-identical too');
	$c->getline(10);
	like($c->tagged('a5b', 10) // '', qr/^a5b OK/, 'second FETCH OK');

	my $f = find_message($u{alice}{maildir}, $msgid);
	ok($f, 'the message file is in the maildir');
	my $disk = read_file($f // '/nonexistent') // '';
	# Dovecot stores messages with LF line ends (mail_save_crlf = no)
	(my $lf = $body) =~ s/\r\n/\n/g;
	is(length($disk), length($lf), 'the file on disk: the size of the message with LF line ends');
	is(sha256_hex($disk), sha256_hex($lf), 'the file on disk: the same message (sha256, LF line ends)');
	my @l = $c->cmd('a6 LOGOUT');
	like($l[-1] // '', qr/^a6 OK/, 'LOGOUT');
	my $ev = wait_for_event('imap end', { user => 'alice', reason => 'backend-closed',
		session => $login ? $login->{session} : 'none' }, 10, $mark);
	ok($ev, 'log: imap end of the big session') or diag(log_text($mark));
	cmp_ok($ev ? $ev->{in} : 0, '>=', $size, 'in= counts the 20 MB APPEND');
	cmp_ok($ev ? $ev->{out} : 0, '>=', $size, 'out= counts the 20 MB FETCH');
	cmp_ok($ev ? $ev->{in} : 0, '<', $size + 4096, 'in= is about the bytes sent after login');
	cmp_ok($ev ? $ev->{out} : 0, '>=', 2 * $size, 'out= counts both FETCHes');
	cmp_ok($ev ? $ev->{out} : 0, '<', 2 * $size + 8192, 'out= is about the bytes received after login');
}

# --- openssl s_client -starttls imap ---------------------------------------------------------

{
	my $mark = log_mark();
	my $r = run_cmd({ stdin => "a LOGIN alice $PW\r\nb LOGOUT\r\n", timeout => 15 },
			'openssl', 's_client', '-connect', "127.0.0.1:$PORT", '-starttls', 'imap',
			'-CAfile', $C->{ca}, '-verify_return_error', '-verify_hostname', 'localhost',
			'-quiet');
	is($r->{rc}, 0, 'openssl s_client -starttls imap -verify_return_error: exit 0') or diag($r->{err});
	like($r->{out}, qr/^a OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/m, 's_client: the LOGIN succeeds')
		or diag($r->{out}, $r->{err});
	like($r->{out}, qr/^b OK/m, 's_client: LOGOUT');
	ok(wait_for_event('imap login', { user => 'alice', tls => qr{^TLSv1\.3/} }, 5, $mark),
	   'log: the s_client login is on TLS');
}

# --- SNI ------------------------------------------------------------------------------------

{
	for my $t (['no SNI', undef, 'localhost', 'localhost'],
		   ['SNI mail.example.test ([tls NAME])', 'mail.example.test', 'mail.example.test',
		    'mail.example.test'],
		   ['SNI pop.example.test (sni_dir, chain with an intermediate CA)', 'pop.example.test',
		    'pop.example.test', 'pop.example.test'],
		   ['SNI in upper case', 'MAIL.EXAMPLE.TEST', 'mail.example.test', 'mail.example.test'],
		   ['SNI of an unknown name', 'unknown.example.test', 'localhost', 'localhost']) {
		my ($name, $sni, $verify, $cn) = @$t;
		my ($c, $err) = imaps(defined $sni ? (sni => $sni) : (), name => $verify);
		ok($c, "$name: verified handshake") or diag($err);
		next unless $c;
		is($c->sock->peer_certificate('cn'), $cn, "$name: certificate CN $cn");
		like($c->{greeting} // '', qr/^\* OK/, "$name: greeting");
		$c->cmd('x LOGOUT');
	}

	my ($c, $err) = imaps(sni => 'mail.example.test', name => 'mail.example.test');
	like(scalar $c->cmd("a LOGIN alice $PW") // '', $LOGGED_IN, 'a login on the SNI certificate');
	$c->cmd('b LOGOUT');

	# after STARTTLS as well
	$c = PD::Test::IMAP->new($PORT);
	$c->getline;
	is(scalar $c->cmd('s STARTTLS'), 's OK Begin TLS negotiation now.', 'STARTTLS');
	ok($c->start_tls(tls_options(sni => 'mail.example.test', name => 'mail.example.test')),
	   'STARTTLS with SNI mail.example.test') or diag($c->{tls_error});
	is($c->sock->peer_certificate('cn'), 'mail.example.test', 'STARTTLS: the SNI certificate');
	$c->cmd('x LOGOUT');

	# stdio --tls too
	my ($s) = stdio_session($conf, 'imap', '--tls');
	my ($ssl, $e2) = tls_upgrade($s, sni => 'pop.example.test', name => 'pop.example.test');
	ok($ssl, 'stdio --tls with SNI pop.example.test') or diag($e2);
	is($ssl && $ssl->peer_certificate('cn'), 'pop.example.test', 'stdio --tls: the sni_dir certificate');
}

finish(map({ $_->{password} } values %u), sasl_plain('alice', $PW));
