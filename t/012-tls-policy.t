#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# The TLS policy and the [tls] configuration: plaintext_auth = tls-only
# (LOGINDISABLED, no USER/SASL in CAPA, the PRIVACYREQUIRED / [AUTH] refusals
# for every way to send a password, then allowed after STARTTLS/STLS) for a
# non-trusted client under the real inetd (bound to 127.0.0.2) and through
# stdio --client-ip; trusted_networks matching (addresses, prefixes, IPv6,
# the default); plaintext_auth = allow; no [tls] cert at all; min_version
# and ciphersuites; a cert file holding the key too; -n with [tls NAME]
# sections; and the startup errors (exit 78 naming the file and pd.conf:LINE,
# with -n as well).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;

my $C = make_certs();
my $dir = testdir();

my $HEAD = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
auth_failure_delay = 1
max_bad_commands = 50

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3

EOF
my %V = (CERT => $C->{cert}, KEY => $C->{key}, FULL => $C->{full});
my %conf = (
	# only 127.0.0.1 is trusted: a client bound to 127.0.0.2 is not
	pol => write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\n"
			  . "trusted_networks = 127.0.0.1/32\n", %V, file => 'pol.conf'),
	def => write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\n", %V, file => 'def.conf'),
	list => write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\n"
			   . "trusted_networks = 192.0.2.128/25 198.51.100.7  2001:db8::/32\t10.0.0.0/8\n",
			   %V, file => 'list.conf'),
	allow => write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\nplaintext_auth = allow\n",
			    %V, file => 'allow.conf'),
	notls => write_conf($HEAD, file => 'notls.conf'),
	v13 => write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\nmin_version = TLSv1.3\n"
			  . "ciphersuites = TLS_CHACHA20_POLY1305_SHA256\n", %V, file => 'v13.conf'),
	full => write_conf($HEAD . "[tls]\ncert = %%FULL%%\n", %V, file => 'full.conf'),
);

my %u = (
	alice => { user => 'alice', password => 'Alice-pol-pw-121', scheme => 'SHA512-CRYPT' },
);
make_user_file($u{alice});
my $PW = $u{alice}{password};
my ($PORT_I, $PORT_P) = (port('IMAP'), port('POP3'));
start_inetd({ port => $PORT_I, proto => 'imap', conf => $conf{pol} },
	    { port => $PORT_P, proto => 'pop3', conf => $conf{pol} });

my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $NO_PRIV = 'NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.';
my $ERR_PRIV = '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.';

sub caps_of {
	my ($line) = @_;
	my ($c) = ($line // '') =~ /CAPABILITY ([^\]]*)/;
	return { map { uc($_) => 1 } split ' ', $c // '' };
}

sub capability {
	my ($c, $tag) = @_;
	my @l = $c->cmd("$tag CAPABILITY");
	my ($u) = grep { /^\* CAPABILITY / } @l;
	return caps_of($u);
}

sub capa {
	my ($c) = @_;
	my @l = $c->multi('CAPA');
	return { map { (split ' ', $_)[0] => $_ } @l[1 .. $#l] };
}

sub imap_tcp {
	my ($local) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT_I, LocalAddr => $local,
				      Proto => 'tcp', Timeout => 5) or die "connect from $local: $!\n";
	my $c = PD::Test::IMAP->new($s);
	$c->{greeting} = $c->getline;
	return $c;
}

sub pop3_tcp {
	my ($local) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT_P, LocalAddr => $local,
				      Proto => 'tcp', Timeout => 5) or die "connect from $local: $!\n";
	my $c = PD::Test::POP3->new($s);
	$c->{greeting} = $c->getline;
	return $c;
}

sub imap_stdio {
	my ($conf, @args) = @_;
	my ($s, $pid) = stdio_session($conf, 'imap', @args);
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub pop3_stdio {
	my ($conf, @args) = @_;
	my ($s, $pid) = stdio_session($conf, 'pop3', @args);
	my $c = PD::Test::POP3->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

# Every IMAP way to send a password, refused with the exact PRIVACYREQUIRED
# line, nothing logged in, the session still answering.
sub imap_refused {
	my ($c, $name, $tls_possible) = @_;
	my $g = caps_of($c->{greeting});
	ok($g->{LOGINDISABLED}, "$name: greeting announces LOGINDISABLED") or diag($c->{greeting});
	ok(!$g->{'AUTH=PLAIN'} && !$g->{'AUTH=LOGIN'}, "$name: greeting: no AUTH=PLAIN, no AUTH=LOGIN");
	is(!!$g->{STARTTLS}, !!$tls_possible, "$name: greeting: STARTTLS " . ($tls_possible ? 'offered' : 'absent'));
	my $caps = capability($c, 'c0');
	ok($caps->{LOGINDISABLED} && !$caps->{'AUTH=PLAIN'} && !$caps->{'AUTH=LOGIN'},
	   "$name: CAPABILITY: LOGINDISABLED, no AUTH=PLAIN/LOGIN") or diag(explain($caps));
	is(!!$caps->{STARTTLS}, !!$tls_possible, "$name: CAPABILITY: STARTTLS " . ($tls_possible ? 'offered' : 'absent'));
	my $mark = log_mark();
	is_deeply([$c->cmd("r1 LOGIN alice $PW")], ["r1 $NO_PRIV"], "$name: LOGIN: the exact refusal");
	is_deeply([$c->cmd('r2 AUTHENTICATE PLAIN ' . sasl_plain('alice', $PW))], ["r2 $NO_PRIV"],
		  "$name: AUTHENTICATE PLAIN with SASL-IR: the exact refusal");
	is_deeply([$c->cmd('r3 AUTHENTICATE PLAIN')], ["r3 $NO_PRIV"],
		  "$name: AUTHENTICATE PLAIN without SASL-IR: refused at once, no continuation");
	is_deeply([$c->cmd('r4 AUTHENTICATE LOGIN')], ["r4 $NO_PRIV"], "$name: AUTHENTICATE LOGIN: refused");
	$c->send_raw("r5 LOGIN {5+}\r\nalice {" . length($PW) . "+}\r\n$PW\r\n");
	is_deeply([$c->tagged('r5')], ["r5 $NO_PRIV"], "$name: LOGIN with literals: refused");
	like(scalar $c->cmd('r6 NOOP') // '', qr/^r6 OK/, "$name: the session goes on");
	ok(!wait_for_event('imap login', {}, 0.2, $mark), "$name: no login logged");
	ok(!-e "$u{alice}{home}/Maildir", "$name: no maildir") if $name =~ /first/;
}

sub imap_allowed {
	my ($c, $name) = @_;
	my $g = caps_of($c->{greeting});
	ok($g->{'AUTH=PLAIN'} && $g->{'AUTH=LOGIN'} && !$g->{LOGINDISABLED},
	   "$name: greeting: AUTH=PLAIN AUTH=LOGIN, no LOGINDISABLED") or diag($c->{greeting});
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, "$name: plaintext LOGIN logs in");
	$c->cmd('a2 LOGOUT');
}

sub pop3_refused {
	my ($c, $name, $tls_possible) = @_;
	my $capa = capa($c);
	ok(!$capa->{USER}, "$name: CAPA without USER") or diag(explain($capa));
	ok(!$capa->{SASL}, "$name: CAPA without SASL");
	is(!!$capa->{STLS}, !!$tls_possible, "$name: CAPA: STLS " . ($tls_possible ? 'offered' : 'absent'));
	my $mark = log_mark();
	is($c->cmd('USER alice'), $ERR_PRIV, "$name: USER: the exact refusal");
	is($c->cmd("PASS $PW"), $ERR_PRIV, "$name: PASS: the exact refusal");
	is($c->cmd('AUTH PLAIN ' . sasl_plain('alice', $PW)), $ERR_PRIV,
	   "$name: AUTH PLAIN with initial response: the exact refusal");
	is($c->cmd('AUTH PLAIN'), $ERR_PRIV, "$name: AUTH PLAIN without initial response: refused at once");
	is($c->cmd('AUTH LOGIN'), $ERR_PRIV, "$name: AUTH LOGIN: refused");
	ok($c->quiet(0.2), "$name: nothing else sent");
	ok(!wait_for_event('pop3 login', {}, 0.2, $mark), "$name: no login logged");
}

# --- tls-only, a non-trusted client under inetd (127.0.0.2, trusted 127.0.0.1/32) ----------

{
	my $c = imap_tcp('127.0.0.2');
	is($c->sock->sockhost, '127.0.0.2', 'the client socket is bound to 127.0.0.2');
	imap_refused($c, 'inetd IMAP from 127.0.0.2 (first)', 1);
	my $mark = log_mark();
	is(scalar $c->cmd('s1 STARTTLS'), 's1 OK Begin TLS negotiation now.', 'then STARTTLS');
	ok($c->start_tls(tls_options()), 'handshake') or diag($c->{tls_error});
	my $caps = capability($c, 's2');
	ok($caps->{'AUTH=PLAIN'} && $caps->{'AUTH=LOGIN'} && !$caps->{LOGINDISABLED} && !$caps->{STARTTLS},
	   'after STARTTLS: AUTH=PLAIN AUTH=LOGIN, no LOGINDISABLED, no STARTTLS') or diag(explain($caps));
	like(scalar $c->cmd("s3 LOGIN alice $PW") // '', $LOGGED_IN, 'after STARTTLS the same client logs in');
	ok(wait_for_event('imap login', { user => 'alice', ip => '127.0.0.2', tls => qr{^TLSv1\.3/} }, 5, $mark),
	   'log: imap login ip=127.0.0.2 tls=TLSv1.3/...') or diag(log_text($mark));
	like(scalar $c->cmd('s4 SELECT INBOX') // '', qr/^s4 OK/, 'SELECT');
	$c->cmd('s5 LOGOUT');
}

{
	my $c = imap_tcp('127.0.0.2');
	my $mark = log_mark();
	like(scalar $c->cmd('a1 AUTHENTICATE PLAIN ' . sasl_plain('alice', $PW)) // '', qr/^a1 NO \[PRIVACYREQUIRED\]/,
	     'refused first');
	is(scalar $c->cmd('a2 STARTTLS'), 'a2 OK Begin TLS negotiation now.', 'STARTTLS');
	ok($c->start_tls(tls_options()), 'handshake');
	like(scalar $c->cmd('a3 AUTHENTICATE PLAIN ' . sasl_plain('alice', $PW)) // '', $LOGGED_IN,
	     'AUTHENTICATE PLAIN after STARTTLS logs in');
	ok(wait_for_event('imap login', { user => 'alice', ip => '127.0.0.2', method => qr/PLAIN/ }, 5, $mark),
	   'log: method PLAIN');
	$c->cmd('a4 LOGOUT');
}

{
	my $c = pop3_tcp('127.0.0.2');
	like($c->{greeting} // '', qr/^\+OK /, 'POP3 from 127.0.0.2: greeting');
	pop3_refused($c, 'inetd POP3 from 127.0.0.2', 1);
	my $mark = log_mark();
	is($c->cmd('STLS'), '+OK Begin TLS negotiation.', 'then STLS');
	ok($c->start_tls(tls_options()), 'handshake') or diag($c->{tls_error});
	my $capa = capa($c);
	ok($capa->{USER} && ($capa->{SASL} // '') =~ /\bPLAIN\b/ && !$capa->{STLS},
	   'after STLS: CAPA has USER and SASL PLAIN, no STLS') or diag(explain($capa));
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER after STLS');
	is($c->cmd("PASS $PW"), '+OK Logged in.', 'PASS after STLS logs in');
	ok(wait_for_event('pop3 login', { user => 'alice', ip => '127.0.0.2', tls => qr{^TLSv1\.3/} }, 5, $mark),
	   'log: pop3 login ip=127.0.0.2 tls=...') or diag(log_text($mark));
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'QUIT');
}

# --- a trusted client under inetd: plaintext, and Dovecot on the socket itself ----------------

{
	my $c = imap_tcp('127.0.0.1');
	my $g = caps_of($c->{greeting});
	ok($g->{STARTTLS} && $g->{'AUTH=PLAIN'} && !$g->{LOGINDISABLED},
	   'trusted 127.0.0.1: STARTTLS and AUTH=PLAIN, no LOGINDISABLED');
	my $mark = log_mark();
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, 'trusted 127.0.0.1: plaintext LOGIN');
	my $ev = wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1' }, 5, $mark);
	ok($ev, 'log: the login');
	unlike($ev ? $ev->{tls} // '' : '', qr/TLS/, 'log: not on TLS');
	my @p = tcp_peer_procs($c->sock);
	is_deeply([map { $_->{exe} } @p], [$PD::Test::DOVECOT_IMAP],
		  'plaintext client: Dovecot holds the client socket itself (no relay)');
	$c->cmd('a2 LOGOUT');

	$c = pop3_tcp('127.0.0.1');
	my $capa = capa($c);
	ok($capa->{USER} && $capa->{STLS} && $capa->{SASL}, 'trusted POP3: CAPA has USER, SASL and STLS');
	$c->cmd('USER alice');
	is($c->cmd("PASS $PW"), '+OK Logged in.', 'trusted POP3: plaintext login');
	# pd sends Dovecot's "+OK" itself right before the exec: wait for it.
	for (1 .. 50) {
		@p = tcp_peer_procs($c->sock);
		last if @p == 1 && $p[0]{exe} eq $PD::Test::DOVECOT_POP3;
		select(undef, undef, undef, 0.1);
	}
	is_deeply([map { $_->{exe} } @p], [$PD::Test::DOVECOT_POP3], 'POP3: Dovecot holds the socket (no relay)');
	$c->cmd('QUIT');
}

# --- stdio --client-ip ------------------------------------------------------------------------

{
	my $c = imap_stdio($conf{pol}, '--client-ip', '203.0.113.9');
	imap_refused($c, 'stdio IMAP --client-ip 203.0.113.9', 1);
	my $mark = log_mark();
	is(scalar $c->cmd('s1 STARTTLS'), 's1 OK Begin TLS negotiation now.', 'stdio: STARTTLS');
	ok($c->start_tls(tls_options()), 'stdio: handshake over the socketpair') or diag($c->{tls_error});
	like(scalar $c->cmd("s2 LOGIN alice $PW") // '', $LOGGED_IN, 'stdio: LOGIN after STARTTLS');
	ok(wait_for_event('imap login', { ip => '203.0.113.9', tls => qr{^TLSv1\.3/} }, 5, $mark),
	   'log: ip=203.0.113.9 tls=...');
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
	is(scalar(@b), 1, 'stdio: Dovecot below pd (the relay)');
	$c->cmd('s3 LOGOUT');

	my $p = pop3_stdio($conf{pol}, '--client-ip', '203.0.113.9');
	pop3_refused($p, 'stdio POP3 --client-ip 203.0.113.9', 1);
	is($p->cmd('STLS'), '+OK Begin TLS negotiation.', 'stdio POP3: STLS');
	ok($p->start_tls(tls_options()), 'stdio POP3: handshake');
	is($p->cmd('AUTH PLAIN ' . sasl_plain('alice', $PW)), '+OK Logged in.', 'stdio POP3: AUTH PLAIN after STLS');
	$p->cmd('QUIT');

	imap_allowed(imap_stdio($conf{pol}), 'stdio without --client-ip ("local")');
	my $lp = pop3_stdio($conf{pol});
	ok(capa($lp)->{USER}, 'stdio POP3 "local": CAPA has USER');
	$lp->cmd('USER alice');
	is($lp->cmd("PASS $PW"), '+OK Logged in.', 'stdio POP3 "local": plaintext login');
	$lp->cmd('QUIT');
}

# --- trusted_networks matching ----------------------------------------------------------------

{
	my @cases = (
		[def => '127.0.0.5', 1], [def => '127.255.255.254', 1], [def => '::1', 1],
		[def => '203.0.113.9', 0], [def => '128.0.0.1', 0], [def => '::2', 0],
		[def => '10.1.2.3', 0],
		[list => '192.0.2.128', 1], [list => '192.0.2.255', 1], [list => '192.0.2.127', 0],
		[list => '198.51.100.7', 1], [list => '198.51.100.8', 0],
		[list => '2001:db8::1', 1], [list => '2001:db8:ffff::5', 1], [list => '2001:db9::1', 0],
		[list => '10.200.0.1', 1], [list => '11.0.0.1', 0],
		[list => '127.0.0.1', 0],	# the list replaces the default
		[allow => '203.0.113.9', 1], [allow => '2001:db8::99', 1],
	);
	for my $t (@cases) {
		my ($cf, $ip, $trusted) = @$t;
		my $name = "$cf.conf, --client-ip $ip";
		my $c = imap_stdio($conf{$cf}, '--client-ip', $ip);
		my $g = caps_of($c->{greeting});
		if ($trusted) {
			ok($g->{'AUTH=PLAIN'} && !$g->{LOGINDISABLED}, "$name: plaintext allowed (AUTH=PLAIN)")
				or diag($c->{greeting});
			like(scalar $c->cmd("t1 LOGIN alice $PW") // '', $LOGGED_IN, "$name: LOGIN");
			$c->cmd('t2 LOGOUT');
		} else {
			ok($g->{LOGINDISABLED} && !$g->{'AUTH=PLAIN'}, "$name: LOGINDISABLED")
				or diag($c->{greeting});
			is(scalar $c->cmd("t1 LOGIN alice $PW"), "t1 $NO_PRIV", "$name: LOGIN refused");
			$c->cmd('t2 LOGOUT');
		}
	}
	my $p = pop3_stdio($conf{allow}, '--client-ip', '203.0.113.9');
	my $capa = capa($p);
	ok($capa->{USER} && $capa->{SASL} && $capa->{STLS}, 'allow: POP3 CAPA has USER, SASL and STLS');
	$p->cmd('USER alice');
	is($p->cmd("PASS $PW"), '+OK Logged in.', 'allow: POP3 plaintext login from 203.0.113.9');
	$p->cmd('QUIT');
}

# --- no [tls] cert: no STARTTLS, and tls-only leaves no way in ---------------------------------

{
	my $c = imap_stdio($conf{notls}, '--client-ip', '203.0.113.9');
	imap_refused($c, 'no [tls] cert, IMAP from 203.0.113.9', 0);
	like(scalar $c->cmd('s1 STARTTLS') // '', qr/^s1 (BAD|NO) /, 'no cert: STARTTLS refused');
	like(scalar $c->cmd('s2 NOOP') // '', qr/^s2 OK/, 'no cert: still plaintext and answering');
	$c->cmd('s3 LOGOUT');
	my $p = pop3_stdio($conf{notls}, '--client-ip', '203.0.113.9');
	pop3_refused($p, 'no [tls] cert, POP3 from 203.0.113.9', 0);
	like($p->cmd('STLS') // '', qr/^-ERR /, 'no cert: STLS refused');
	$p->cmd('QUIT');
	imap_allowed(imap_stdio($conf{notls}), 'no cert, "local" client');
	my $r = run_pd('pd-forker-stdio', '-c', $conf{notls}, '-p', 'imap', '--tls');
	is($r->{rc}, 78, 'pd-forker-stdio --tls without [tls] cert: exit 78') or diag($r->{err});
	like($r->{err}, qr/cert/, 'and says why') or diag($r->{err});
	is($r->{out}, '', 'no greeting');
	$r = run_pd('pd-forker-inet', '-c', $conf{notls}, '-p', 'pop3', '--tls');
	is($r->{rc}, 78, 'pd-forker-inet --tls without [tls] cert: exit 78') or diag($r->{err});
}

# --- min_version, ciphersuites -----------------------------------------------------------------

{
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf{v13}, 'imap', '--tls');
	my ($ssl, $err) = tls_upgrade($s, version => 'TLSv1_2');
	ok(!$ssl, 'min_version = TLSv1.3: a client capped at TLSv1.2 is refused') or diag($err);
	my $st = wait_pid($pid, 5);
	ok(defined $st && !($st & 127), 'pd exits, not by a signal');
	ok(wait_for_event('imap tls-failed', {}, 5, $mark), 'log: imap tls-failed') or diag(log_text($mark));

	# the same after STARTTLS
	my $c = imap_stdio($conf{v13}, '--client-ip', '203.0.113.9');
	is(scalar $c->cmd('s1 STARTTLS'), 's1 OK Begin TLS negotiation now.', 'v13: STARTTLS');
	ok(!$c->start_tls(tls_options(version => 'TLSv1_2')), 'v13: a TLSv1.2 client fails after STARTTLS too');

	$mark = log_mark();
	($s, $pid) = stdio_session($conf{v13}, 'imap', '--tls');
	($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'min_version = TLSv1.3: a TLSv1.3 client gets in') or diag($err);
	is($ssl && $ssl->get_sslversion, 'TLSv1_3', 'TLSv1.3');
	is($ssl && $ssl->get_cipher, 'TLS_CHACHA20_POLY1305_SHA256', 'ciphersuites: the configured suite');
	$c = PD::Test::IMAP->new($ssl // $s);
	like($c->getline // '', qr/^\* OK/, 'greeting');
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, 'LOGIN');
	ok(wait_for_event('imap login', { tls => 'TLSv1.3/TLS_CHACHA20_POLY1305_SHA256' }, 5, $mark),
	   'log: tls=TLSv1.3/TLS_CHACHA20_POLY1305_SHA256') or diag(log_text($mark));
	$c->cmd('a2 LOGOUT');

	# the default minimum, TLSv1.2, lets a TLSv1.2 client in
	$mark = log_mark();
	($s) = stdio_session($conf{def}, 'imap', '--tls');
	($ssl, $err) = tls_upgrade($s, version => 'TLSv1_2');
	ok($ssl, 'default min_version: a TLSv1.2 client gets in') or diag($err);
	$c = PD::Test::IMAP->new($ssl // $s);
	$c->getline;
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, 'LOGIN over TLSv1.2');
	ok(wait_for_event('imap login', { tls => qr{^TLSv1\.2/ECDHE-} }, 5, $mark), 'log: tls=TLSv1.2/ECDHE-...')
		or diag(log_text($mark));
	$c->cmd('a2 LOGOUT');
}

# --- login_timeout covers the TLS handshake ---------------------------------------------------------

{
	my $short = write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\n", %V, file => 'short.conf');
	$short = write_file('short.conf', read_file($short) =~ s/^login_timeout = 10$/login_timeout = 1/mr);
	my $mark = log_mark();
	my %c;
	# no ClientHello ever, on implicit TLS and after STARTTLS / STLS
	my ($s) = stdio_session($short, 'imap', '--tls');
	$c{'implicit TLS, no handshake'} = PD::Test::Conn->new($s);
	my $i = imap_stdio($short);
	$i->cmd('s STARTTLS');
	$c{'IMAP STARTTLS, no handshake'} = $i;
	my $p = pop3_stdio($short);
	$p->cmd('STLS');
	$c{'POP3 STLS, no handshake'} = $p;
	# TLS up, then idle
	($s) = stdio_session($short, 'imap', '--tls');
	my $t = PD::Test::IMAP->new(tls_upgrade($s) // $s);
	$t->getline;
	$c{'implicit TLS, idle'} = $t;
	my $t0 = time;
	my %r;
	for my $k (sort keys %c) {
		$r{$k} = $c{$k}->read_to_eof(10);
		$r{$k} = [$r{$k}, time - $t0];
	}
	for my $k (sort keys %c) {
		my ($all, $dt) = @{$r{$k}};
		ok(defined $all, sprintf('login_timeout = 1, %s: closed (after %.1f s)', $k, $dt));
		cmp_ok($dt, '<', 7.5, "$k: within login_timeout and a grace");
		if ($k eq 'implicit TLS, idle') {
			is($all, "* BYE Disconnected for inactivity.\r\n", "$k: the BYE, inside TLS");
		} else {
			is($all, '', "$k: nothing sent in plaintext");
		}
	}
	my @t = grep { /reason=timeout/ } split /\n/, log_text($mark);
	is(scalar(@t), 4, 'log: four sessions end with reason=timeout') or diag(log_text($mark));
	for my $k (sort grep { /no handshake/ } keys %c) {
		cmp_ok($r{$k}[1], '<', 2.5, "$k: closed at login_timeout");
	}
}

# --- cert holding the key too -------------------------------------------------------------------

{
	my $r = run_pd('pd-forker-stdio', '-c', $conf{full}, '-n');
	is($r->{rc}, 0, 'cert = chain+key file, no key: -n exit 0') or diag($r->{err});
	my ($s) = stdio_session($conf{full}, 'imap', '--tls');
	my ($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'cert = chain+key file: verified handshake') or diag($err);
	my $c = PD::Test::IMAP->new($ssl // $s);
	$c->getline;
	like(scalar $c->cmd("a1 LOGIN alice $PW") // '', $LOGGED_IN, 'and LOGIN');
	$c->cmd('a2 LOGOUT');
}

# --- -n with [tls] and [tls NAME] ----------------------------------------------------------------

{
	my $cf = write_conf($HEAD . "[tls]\ncert = %%CERT%%\nkey = %%KEY%%\nsni_dir = %%SNI_DIR%%\n"
			    . "min_version = TLSv1.3\nplaintext_auth = allow\ntrusted_networks = 10.0.0.0/8 ::1\n\n"
			    . "[tls mail.example.test]\ncert = %%SNI_CERT%%\nkey = %%SNI_KEY%%\n",
			    %V, SNI_DIR => $C->{sni_dir}, SNI_CERT => $C->{sni}{cert}, SNI_KEY => $C->{sni}{key},
			    file => 'named.conf');
	for my $forker (qw(pd-forker-stdio pd-forker-inet)) {
		my $r = run_pd($forker, '-c', $cf, '-n');
		is($r->{rc}, 0, "$forker -n with [tls NAME]: exit 0") or diag($r->{err});
		like($r->{out}, qr/^\[tls\]\s*$/m, "$forker -n: a [tls] section");
		like($r->{out}, qr/^\s*cert\s*=\s*\Q$C->{cert}\E\s*$/m, "$forker -n: [tls] cert");
		like($r->{out}, qr/^\s*min_version\s*=\s*TLSv1\.3\s*$/m, "$forker -n: min_version");
		like($r->{out}, qr/^\s*trusted_networks\s*=\s*10\.0\.0\.0\/8 ::1\s*$/m, "$forker -n: trusted_networks");
		like($r->{out}, qr/^\[tls mail\.example\.test\]\s*$/m, "$forker -n: the [tls mail.example.test] section");
		like($r->{out}, qr/^\s*cert\s*=\s*\Q$C->{sni}{cert}\E\s*$/m, "$forker -n: its cert");
		my $again = write_file("named-effective-$forker.conf", $r->{out});
		my $r2 = run_pd($forker, '-c', $again, '-n');
		is($r2->{rc}, 0, "$forker: the -n output is a valid pd.conf") or diag($r2->{err});
		is($r2->{out}, $r->{out}, "$forker: and prints the same");
	}
}

# --- startup errors: exit 78, the file and pd.conf:LINE --------------------------------------------

{
	my $missing = "$dir/nowhere/missing-cert.pem";
	my $badsni = "$dir/badsni";
	mkdir $badsni;
	write_file("$badsni/bad.example.test.pem", "no pem here\n");
	# The [tls] section starts at line T+1 of each file: lines are counted
	# from there.  [name, tls lines, file the message must name, lines it may name]
	my $T = () = $HEAD =~ /\n/g;
	$T += 1;	# the "[tls]" line
	my @bad = (
		['key does not match cert', "cert = $C->{cert}\nkey = $C->{stray_key}\n", $C->{stray_key}, [1, 2], 2],
		['missing cert file', "cert = $missing\nkey = $C->{key}\n", $missing, [1]],
		['missing key file', "cert = $C->{cert}\nkey = $dir/nowhere/missing.key\n",
		 "$dir/nowhere/missing.key", [1, 2], 2],
		['cert is no PEM', "cert = $C->{garbage}\nkey = $C->{key}\n", $C->{garbage}, [1]],
		['cert is a directory', "cert = $C->{dir}\nkey = $C->{key}\n", $C->{dir}, [1]],
		['cert without key, file holds no key', "# comment\ncert = $C->{cert}\n", $C->{cert}, [2]],
		['cert and key swapped', "cert = $C->{key}\nkey = $C->{cert}\n", $C->{key}, [1, 2]],
		['[tls NAME] missing cert', "cert = $C->{cert}\nkey = $C->{key}\n\n[tls mail.example.test]\n"
		 . "cert = $dir/nowhere/sni.pem\nkey = $C->{sni}{key}\n", "$dir/nowhere/sni.pem", [5]],
		['[tls NAME] key does not match', "cert = $C->{cert}\nkey = $C->{key}\n[tls mail.example.test]\n"
		 . "cert = $C->{sni}{cert}\nkey = $C->{stray_key}\n", $C->{stray_key}, [4, 5], 5],
		['sni_dir missing', "cert = $C->{cert}\nkey = $C->{key}\nsni_dir = $dir/nowhere/sni\n",
		 "$dir/nowhere/sni", [3]],
		['sni_dir with a bad file', "cert = $C->{cert}\nkey = $C->{key}\nsni_dir = $badsni\n",
		 "$badsni/bad.example.test.pem", [3]],
		['min_version TLSv1.4', "cert = $C->{cert}\nkey = $C->{key}\nmin_version = TLSv1.4\n",
		 'min_version', [3]],
		['plaintext_auth bad value', "cert = $C->{cert}\nkey = $C->{key}\nplaintext_auth = sometimes\n",
		 'plaintext_auth', [3]],
		['trusted_networks /33', "cert = $C->{cert}\nkey = $C->{key}\ntrusted_networks = 127.0.0.0/8 10.0.0.0/33\n",
		 '10.0.0.0/33', [3]],
		['trusted_networks not an address', "trusted_networks = ::1 localhost\n", 'localhost', [1]],
		['ciphers none usable', "cert = $C->{cert}\nkey = $C->{key}\nciphers = NO-SUCH-CIPHER\n",
		 'NO-SUCH-CIPHER', [3]],
		['ciphersuites none usable', "cert = $C->{cert}\nkey = $C->{key}\nciphersuites = TLS_NO_SUCH_SUITE\n",
		 'TLS_NO_SUCH_SUITE', [3]],
		['key without cert', "key = $C->{key}\n", 'key', [1]],
		['unknown [tls] key', "cert = $C->{cert}\nkey = $C->{key}\ncafile = $C->{ca}\n", 'cafile', [3]],
	);
	for my $case (@bad) {
		my ($name, $tls, $what, $lines, $key_line) = @$case;
		(my $file = "bad-tls-$name.conf") =~ s/[^\w.-]+/-/g;
		my $path = write_file($file, write_conf_text($HEAD . "[tls]\n" . $tls));
		my $lre = join '|', map { $T + $_ } @$lines;
		for my $run (['pd-forker-stdio', '-n'], ['pd-forker-inet', '-n'], ['pd-forker-stdio', '-p', 'imap'],
			     ['pd-forker-stdio', '-p', 'pop3', '--tls']) {
			my ($forker, @args) = @$run;
			my $r = run_pd($forker, '-c', $path, @args);
			my $how = "$forker @args";
			is($r->{rc}, 78, "$name ($how): exit 78") or diag($r->{err});
			like($r->{err}, qr/\Q$path\E:($lre)\b/, "$name ($how): stderr names $file:" . join('|', map { $T + $_ } @$lines))
				or diag($r->{err});
			like($r->{err}, qr/\Q$what\E/, "$name ($how): and $what") or diag($r->{err});
			is($r->{out}, '', "$name ($how): nothing on stdout (no greeting)");
			next unless defined $key_line && $how =~ /-n/;
			like($r->{err}, qr/\Q$path\E:${\ ($T + $key_line)}\b/,
			     "$name ($how): the line of the key");
		}
	}

	# [tls NAME] with no cert at all
	{
		my $path = write_file('bad-tls-named-no-cert.conf', write_conf_text($HEAD . "[tls]\ncert = $C->{cert}\n"
			. "key = $C->{key}\n[tls mail.example.test]\nkey = $C->{sni}{key}\n"));
		my $r = run_pd('pd-forker-stdio', '-c', $path, '-n');
		is($r->{rc}, 78, '[tls NAME] with a key but no cert: exit 78') or diag($r->{err});
		like($r->{err}, qr/mail\.example\.test/, 'names the section') or diag($r->{err});
		like($r->{err}, qr/\Q$path\E:(${\ ($T + 3)}|${\ ($T + 4)})\b/,
		     'and pd.conf:LINE of the section or its key') or diag($r->{err});
	}

	# a broken certificate under inetd: the client is turned away at once, no path leaks
	{
		my $path = "$dir/bad-tls-missing-cert-file.conf";
		my ($s, $pid) = stdio_session($path, 'imap', '--tls');
		my $c = PD::Test::Conn->new($s);
		my $all = $c->read_to_eof(5);
		ok(defined $all, 'stdio --tls with a broken cert: closed at once');
		unlike($all // '', qr/\.pem|\Q$dir\E/, 'no file name reaches the client');
		my $st = wait_pid($pid, 5);
		is(defined $st ? $st >> 8 : 'running', 78, 'exit 78');
	}
}

finish($PW, sasl_plain('alice', $PW));

# The text of a pd.conf template, %%TESTDIR%% filled in (write_conf writes a
# file; here the caller names it).
sub write_conf_text {
	my ($t) = @_;
	$t =~ s/%%TESTDIR%%/$dir/g;
	return $t;
}
