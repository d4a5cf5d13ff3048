#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# POP3 with the Courier backend: courierpop3d (from the private tree of
# scripts/deps-courier) exec'd by pd for users whose record says
# backend=courier, through pd-forker-stdio and the real openbsd-inetd.
# Courier says "+OK logged in." itself, so after PASS (or AUTH) the client
# sees exactly one +OK; STAT/LIST/RETR/DELE/QUIT served by Courier with the
# message really gone from disk; the client's real address in Courier's log;
# a Courier and a Dovecot user in one pd.conf; the maildir made by pd, and
# refused when it is someone else's; OPTIONS=disablepop3=1 (and
# disableimap=1 leaving POP3 on); commands pipelined after PASS relayed by
# pd (a few, and a 3000-command burst) with the end line's byte counts; TLS
# with POP3_TLS=1.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Net::POP3;
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(:all);
use PD::Test::Courier qw(:all);
use PD::Test::POP3;

my $C = make_certs();
my $POP3D = courier_pop3d();
my $conf = write_conf(<<'EOF' . courier_section(), CERT => $C->{cert}, KEY => $C->{key});
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
auth_failure_delay = 1
# Courier users are uid 65534 (nobody): see PD::Test::Courier.
first_valid_uid = 100

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3

# Plaintext logins from --client-ip documentation addresses; TLS for the
# POP3_TLS case.
[tls]
cert = %%CERT%%
key = %%KEY%%
plaintext_auth = allow

EOF

my %u = (
	cathy => courier_user(user => 'cathy', password => 'Cathy-courier-pop-221'),
	carl => courier_user(user => 'carl', password => 'Carl-courier-pop-222'),
	# a Dovecot user (no backend: default_backend) in the same pd.conf
	dora => { user => 'dora', password => 'Dora-dovecot-pop-223', uid => 5000 },
	# never logged in before: pd makes the maildir
	newt => courier_user(user => 'newt', password => 'Newt-courier-pop-224'),
	# a maildir that is 5000's
	olga => courier_user(user => 'olga', password => 'Olga-courier-pop-225'),
	nopop => courier_user(user => 'nopop', password => 'Nopop-courier-pop-226',
			      extra => 'OPTIONS=disablepop3=1'),
	# IMAP off, POP3 still on
	noimap => courier_user(user => 'noimap', password => 'Noimap-courier-pop-227',
			       extra => 'OPTIONS=disableimap=1'),
);
make_user_file(@u{qw(cathy carl dora newt olga nopop noimap)});
my $WRONG = 'Wrong-courier-pop-229';
{
	my $md = $u{olga}{maildir};
	mkdir $_, 0700 for $md, map { "$md/$_" } qw(cur new tmp);
	chown 5000, 5000, $md, map { "$md/$_" } qw(cur new tmp);
}

my $PORT = port('POP3');
start_inetd({ port => $PORT, proto => 'pop3', conf => $conf });

my $COURIER_OK = '+OK logged in.';	# courierpop3d's
my $DOVECOT_OK = '+OK Logged in.';	# pd's, for Dovecot
my $TEMPFAIL = '-ERR [SYS/TEMP] Temporary authentication failure, try again later.';

sub session {
	my (@args) = @_;
	my ($s, $pid) = stdio_session($conf, 'pop3', @args);
	my $c = PD::Test::POP3->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

# A message as a delivery agent writes it into a maildir: LF line ends
# (Courier makes them CRLF on the wire).
sub message {
	my ($id, $body) = @_;
	return "From: tester\@test.local\nTo: cathy\@test.local\nSubject: $id\n"
		. "Message-ID: <$id\@test.local>\n\n$body\n";
}

sub crlf { (my $t = $_[0]) =~ s/\n/\r\n/g; return $t }

sub check_courier {
	my ($p, $name) = @_;
	ok($p, "$name: courierpop3d serves the session") or return;
	is_deeply([@{$p->{uid}}[0 .. 2]], [65534, 65534, 65534], "$name: as uid 65534");
	is_deeply([@{$p->{gid}}[0 .. 2]], [65534, 65534, 65534], "$name: and gid 65534");
	ok(!grep({ $_ == 0 } @{$p->{groups}}), "$name: without root's group");
}

# Courier's log lines come from another process: wait for them.
sub wait_courier_log {
	my ($re, $from, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		my @l = courier_log_lines($re, $from);
		return $l[0] if @l || time > $end;
		sleep 0.05;
	}
}

# --- stdio: USER/PASS, one +OK, a whole session checked on disk ---------------------------

{
	my $m1 = message("c202-a1-$$", 'first body');
	my $m2 = message("c202-a2-$$", 'second body');
	my $f1 = put_message($u{cathy}, $m1);
	my $f2 = put_message($u{cathy}, $m2);
	my $mark = log_mark();
	my $c = session('--client-ip', '192.0.2.41');
	like($c->{greeting} // '', qr/^\+OK pd ready\.$/, "pd's greeting");
	like($c->cmd('USER cathy') // '', qr/^\+OK/, 'USER (pd)');
	is($c->cmd("PASS $u{cathy}{password}"), $COURIER_OK, "PASS: Courier's own +OK logged in.");
	ok($c->quiet(0.3), 'exactly one +OK after PASS: nothing else pending');
	my ($p) = wait_courier_procs($c->{pid});
	is($p && $p->{pid}, $c->{pid}, "courierpop3d was exec'd in place of pd-forker-stdio");
	check_courier($p, 'stdio');
	my $env = proc_env($c->{pid});
	is($env->{AUTHENTICATED}, 'cathy', 'env AUTHENTICATED=cathy');
	is($env->{TCPREMOTEIP}, '192.0.2.41', 'env TCPREMOTEIP is the --client-ip address');
	ok(defined $env->{TCPREMOTEPORT}, 'env TCPREMOTEPORT is set');
	is($env->{MAILDIR}, $u{cathy}{maildir}, 'env MAILDIR');
	ok(!exists $env->{IMAPLOGINTAG}, 'no IMAPLOGINTAG for POP3');
	ok(!exists $env->{POP3_TLS}, 'no POP3_TLS for a plaintext client');
	is($env->{MAXPERIP}, '4', 'env from the pop3d settings file (MAXPERIP=4)');
	ok(!exists $env->{IMAP_CAPABILITY}, "the imapd settings file is not read for POP3");

	my $size = length(crlf($m1)) + length(crlf($m2));
	is($c->cmd('STAT'), "+OK 2 $size", 'STAT by Courier: two messages, sizes with CRLF');
	my @list = $c->multi('LIST');
	is(scalar(@list), 3, 'LIST: two entries');
	my @m = $c->multi('RETR 1');
	like($m[0] // '', qr/^\+OK/, 'RETR 1');
	my $text = join("\n", @m[1 .. $#m]) . "\n";
	my ($id) = $text =~ /Message-ID: <(c202-a\d-\d+)\@test\.local>/;
	ok($id, 'RETR 1 is one of the messages') or diag(explain(\@m));
	$id //= '';
	is($text, $id eq "c202-a1-$$" ? $m1 : $m2, 'RETR: the message, line for line');
	my $other = $id eq "c202-a1-$$" ? "c202-a2-$$" : "c202-a1-$$";
	like($c->cmd('DELE 1') // '', qr/^\+OK/, 'DELE 1');
	ok(find_message($u{cathy}{maildir}, "<$id\@test.local>"), 'still on disk before QUIT');
	is($c->cmd('QUIT'), '+OK Bye-bye.', "QUIT answered by Courier");
	is($c->read_to_eof(3), '', 'then closed');
	is(wait_pid($c->{pid}, 5), 0, 'the session exits 0');
	ok(!find_message($u{cathy}{maildir}, "<$id\@test.local>"), 'the deleted message is gone from disk');
	ok(find_message($u{cathy}{maildir}, "<$other\@test.local>"), 'the other one is still there');

	ok(wait_for_event('pop3 login', { user => 'cathy', ip => '192.0.2.41', backend => 'courier',
					  method => 'USER' }, 5, $mark), 'log: pop3 login ... backend=courier')
		or diag(log_text($mark));
	like(wait_courier_log(qr/^INFO: LOGIN, user=cathy,/, $mark) // '',
	     qr/^INFO: LOGIN, user=cathy, ip=\[192\.0\.2\.41\], port=\[\d+\]$/,
	     "Courier's own log line (its stderr is pd's log) names the client address");
	like(wait_courier_log(qr/^INFO: LOGOUT, user=cathy,/, $mark) // '', qr/retr=\d+/,
	     "Courier's LOGOUT line");
}

# --- AUTH PLAIN: also one +OK ----------------------------------------------------------------

{
	my $c = session('--client-ip', '192.0.2.42');
	is($c->cmd('AUTH PLAIN ' . sasl_plain('cathy', $u{cathy}{password})), $COURIER_OK,
	   'AUTH PLAIN with an initial response: Courier\'s +OK logged in.');
	ok($c->quiet(0.3), 'and only that');
	like($c->cmd('STAT') // '', qr/^\+OK 1 \d+$/, 'STAT: the message left');
	is($c->cmd('QUIT'), '+OK Bye-bye.', 'QUIT');
}

# --- a wrong password for a Courier user: no Courier --------------------------------------------

{
	my $c = session('--client-ip', '192.0.2.43');
	$c->cmd('USER cathy');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'wrong password: pd refuses');
	is(scalar(courier_procs($c->{pid})), 0, 'no Courier started');
	$c->cmd('USER cathy');
	is($c->cmd("PASS $u{cathy}{password}"), $COURIER_OK, 'then the right one: Courier');
	$c->cmd('QUIT');
}

# --- inetd: Net::POP3, the client's real address, exec on the socket ----------------------------

{
	put_message($u{carl}, message("c202-c1-$$", 'carl one'));
	put_message($u{carl}, message("c202-c2-$$", 'carl two'));
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $PORT, Timeout => 10);
	ok($pop, 'Net::POP3 connects through inetd');
	if ($pop) {
		my $cport = $pop->sockport;
		is($pop->login('carl', $u{carl}{password}), 2, 'Net::POP3 login: two messages');
		my @p = tcp_peer_procs($pop);
		is_deeply([map { $_->{exe} } @p], [$POP3D],
			  'only courierpop3d holds the client socket (pd gone)') or diag(explain(\@p));
		check_courier($p[0], 'inetd');
		my $env = @p ? proc_env($p[0]{pid}) : {};
		is($env->{TCPREMOTEIP}, '127.0.0.1', 'env TCPREMOTEIP=127.0.0.1');
		is($env->{TCPREMOTEPORT}, $cport, "env TCPREMOTEPORT is the client's source port");
		is($env->{TCPLOCALPORT}, $PORT, 'env TCPLOCALPORT is the service port');
		is(wait_courier_log(qr/^INFO: LOGIN, user=carl,/, $mark),
		   "INFO: LOGIN, user=carl, ip=[127.0.0.1], port=[$cport]",
		   "Courier's log line has the client's address and real source port");
		ok(wait_for_event('pop3 login', { user => 'carl', ip => '127.0.0.1', port => $cport,
						  backend => 'courier' }, 5, $mark),
		   'log: pop3 login ... port=<client port> backend=courier') or diag(log_text($mark));
		my %body = map { $_ => join('', @{$pop->get($_) || []}) } 1, 2;
		my ($n) = grep { $body{$_} =~ /c202-c2-$$/ } keys %body;
		ok($n, 'RETR finds the second message');
		like($n ? $body{$n} : '', qr/carl two/, 'with its body');
		ok($n && $pop->delete($n), 'DELE');
		ok($pop->quit, 'QUIT');
		ok(!find_message($u{carl}{maildir}, "c202-c2-$$"), 'the message file is gone after QUIT');
		ok(find_message($u{carl}{maildir}, "c202-c1-$$"), 'the other stays');
	}

	# raw over TCP: nothing but Courier's +OK after PASS
	my $c = PD::Test::POP3->new($PORT);
	like($c->getline // '', qr/^\+OK/, 'raw TCP: greeting');
	$c->cmd('USER carl');
	is($c->cmd("PASS $u{carl}{password}"), $COURIER_OK, 'raw TCP: PASS: +OK logged in.');
	ok($c->quiet(0.3), 'raw TCP: and nothing more');
	is($c->cmd('STAT') // '', '+OK 1 ' . length(crlf(message("c202-c1-$$", 'carl one'))),
	   'raw TCP: STAT');
	is($c->cmd('QUIT'), '+OK Bye-bye.', 'raw TCP: QUIT');
	is($c->read_to_eof(3), '', 'raw TCP: closed');
}

# --- a Courier user and a Dovecot user in the same pd.conf ---------------------------------------

{
	my $mark = log_mark();
	my ($cc, $cd) = (PD::Test::POP3->new($PORT), PD::Test::POP3->new($PORT));
	$_->getline for $cc, $cd;
	$cc->cmd('USER cathy');
	$cd->cmd('USER dora');
	is($cc->cmd("PASS $u{cathy}{password}"), $COURIER_OK, 'inetd: cathy: +OK logged in. (Courier)');
	is($cd->cmd("PASS $u{dora}{password}"), $DOVECOT_OK, 'inetd: dora: +OK Logged in. (pd, for Dovecot)');
	ok($cd->quiet(0.3), 'dora: one +OK too');
	is_deeply([map { $_->{exe} } tcp_peer_procs($cc->sock)], [$POP3D], 'cathy: courierpop3d');
	is_deeply([map { $_->{exe} } tcp_peer_procs($cd->sock)], [$PD::Test::DOVECOT_POP3],
		  'dora: Dovecot pop3');
	like($cc->cmd('STAT') // '', qr/^\+OK 1 \d+$/, 'cathy: STAT (Courier)');
	like($cd->cmd('STAT') // '', qr/^\+OK 0 0$/, 'dora: STAT (Dovecot)');
	is($cc->cmd('QUIT'), '+OK Bye-bye.', 'cathy: QUIT (Courier)');
	like($cd->cmd('QUIT') // '', qr/^\+OK Logging out/, 'dora: QUIT (Dovecot)');
	ok(wait_for_event('pop3 login', { user => 'cathy', backend => 'courier' }, 5, $mark),
	   'log: cathy backend=courier');
	ok(wait_for_event('pop3 login', { user => 'dora', backend => 'dovecot' }, 5, $mark),
	   'log: dora backend=dovecot');

	my ($sc, $sd) = (session('--client-ip', '192.0.2.44'), session('--client-ip', '192.0.2.45'));
	$sc->cmd('USER cathy');
	$sd->cmd('USER dora');
	is($sc->cmd("PASS $u{cathy}{password}"), $COURIER_OK, 'stdio: cathy: Courier');
	is($sd->cmd("PASS $u{dora}{password}"), $DOVECOT_OK, 'stdio: dora: Dovecot');
	is(proc_info($sc->{pid})->{exe}, $POP3D, 'stdio: cathy is courierpop3d');
	is(scalar(backend_procs($sd->{pid}, $PD::Test::DOVECOT_POP3)), 1, 'stdio: dora is Dovecot');
	$_->cmd('QUIT') for $sc, $sd;
}

# --- the maildir: made when missing, refused when someone else's --------------------------------

{
	my $md = $u{newt}{maildir};
	ok(!-e $md, 'newt has no maildir');
	my $mark = log_mark();
	my $c = session('--client-ip', '192.0.2.46');
	$c->cmd('USER newt');
	is($c->cmd("PASS $u{newt}{password}"), $COURIER_OK, 'newt: Courier');
	is($c->cmd('STAT'), '+OK 0 0', 'newt: STAT +OK 0 0 in the new maildir');
	for my $d ($md, map { "$md/$_" } qw(cur new tmp)) {
		my @st = stat($d);
		ok(@st && -d _, "pd created $d");
		is(sprintf('%04o', ($st[2] // 0) & 07777), '0700', '  with mode 0700');
		is(join(':', @st[4, 5]), '65534:65534', '  owned by 65534:65534');
	}
	ok(wait_for_log(qr/created maildir \Q$md\E for newt/, 5, $mark), 'log: created maildir');
	$c->cmd('QUIT');
}

{
	my $mark = log_mark();
	my $c = session('--client-ip', '192.0.2.47');
	$c->cmd('USER olga');
	$c->send("PASS $u{olga}{password}");
	is($c->read_to_eof(5), "$TEMPFAIL\r\n", 'olga (5000:5000): -ERR [SYS/TEMP], then closed');
	my $ev = wait_for_event('pop3 dispatch-failed', { user => 'olga', backend => 'courier' }, 5, $mark);
	like($ev ? $ev->{_line} : '', qr/: \Q$u{olga}{maildir}\E is owned by 5000:5000, not by olga \(65534:65534\)$/,
	     'log: dispatch-failed ... is owned by 5000:5000, not by olga (65534:65534)')
		or diag(log_text($mark));
	ok(!courier_log_lines(qr/user=olga,/, $mark), 'Courier never ran');
	is(join(':', (stat($u{olga}{maildir}))[4, 5]), '5000:5000', 'the owner is untouched');
}

# --- OPTIONS from the record -----------------------------------------------------------------------

{
	my $c = session('--client-ip', '192.0.2.48');
	$c->cmd('USER nopop');
	$c->send("PASS $u{nopop}{password}");
	is($c->read_to_eof(5), "-ERR POP3 access disabled for this account.\r\n",
	   'OPTIONS=disablepop3=1: -ERR POP3 access disabled (Courier), then closed');

	$c = session('--client-ip', '192.0.2.48');
	$c->cmd('USER noimap');
	is($c->cmd("PASS $u{noimap}{password}"), $COURIER_OK, 'OPTIONS=disableimap=1: POP3 still works');
	is(proc_env($c->{pid})->{OPTIONS}, 'disableimap=1', 'env OPTIONS from the record');
	$c->cmd('QUIT');
}

# --- commands pipelined after PASS: pd relays, Courier answers -------------------------------------

{
	put_message($u{carl}, message("c202-c3-$$", 'carl three'));
	my $mark = log_mark();
	my $c = session('--client-ip', '192.0.2.49');
	my $after = "STAT\r\nLIST\r\n";
	$c->send_raw("USER carl\r\nPASS $u{carl}{password}\r\n$after");
	like($c->getline // '', qr/^\+OK/, 'pipelined: USER (pd)');
	my @l = ($c->getline, $c->getline);
	is($l[0], $COURIER_OK, 'pipelined: PASS: one +OK logged in.');
	like($l[1] // '', qr/^\+OK 2 \d+$/, 'pipelined: STAT answered by Courier');
	my @list = ($c->getline);
	while (defined(my $x = $c->getline)) { push @list, $x; last if $x eq '.' }
	is(scalar(@list), 4, 'pipelined: LIST answered by Courier');
	is(proc_info($c->{pid})->{exe}, bin('pd-forker-stdio'), 'pd stays in the path');
	my @p = courier_procs($c->{pid});
	is(scalar(@p), 1, 'one courierpop3d below it');
	isnt($p[0] && $p[0]{pid}, $c->{pid}, 'in a child');
	check_courier($p[0], 'relay');
	is(@p ? proc_env($p[0]{pid})->{TCPREMOTEIP} : undef, '192.0.2.49', 'relay: env TCPREMOTEIP');
	my $quit = "QUIT\r\n";
	$c->send_raw($quit);
	my $rest = $c->read_to_eof(5);
	is($rest, "+OK Bye-bye.\r\n", 'QUIT through the relay, then closed');
	my $out = 0;
	$out += length($_) + 2 for @l, @list;
	$out += length($rest // '');
	my $in = length($after) + length($quit);
	my $ev = wait_for_event('pop3 end', { user => 'carl', ip => '192.0.2.49' }, 5, $mark);
	ok($ev, 'log: pop3 end') or diag(log_text($mark));
	is($ev && $ev->{in}, $in, "end line: in=$in (STAT, LIST, QUIT)");
	is($ev && $ev->{out}, $out, "end line: out=$out (all Courier said)");
	is($ev && $ev->{reason}, 'backend-closed', 'reason=backend-closed');
	is(wait_pid($c->{pid}, 5), 0, 'pd exits 0');
}

# A burst far larger than pd's pre-login buffer in the same write.
{
	my $mark = log_mark();
	my $c = session('--client-ip', '192.0.2.51');
	my $n = 3000;
	my $after = ("NOOP\r\n" x $n) . "QUIT\r\n";
	$c->send_raw("USER carl\r\nPASS $u{carl}{password}\r\n$after");
	like($c->getline // '', qr/^\+OK/, 'burst: USER (pd)');
	my $all = $c->read_to_eof(20) // '';
	is($all, "$COURIER_OK\r\n" . ("+OK Yup.\r\n" x $n) . "+OK Bye-bye.\r\n",
	   "burst: one +OK logged in., $n NOOPs and QUIT answered by Courier");
	my $ev = wait_for_event('pop3 end', { user => 'carl', ip => '192.0.2.51' }, 5, $mark);
	is($ev && $ev->{in}, length($after), 'burst: end line in= is every byte after PASS');
	is($ev && $ev->{out}, length($all), 'burst: out= is every byte Courier sent');
}

# --- TLS: pd relays, Courier told POP3_TLS=1 ---------------------------------------------------------

{
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf, 'pop3', '--tls', '--client-ip', '192.0.2.50');
	my ($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'pd-forker-stdio --tls: handshake') or diag($err);
	if ($ssl) {
		my $c = PD::Test::POP3->new($ssl);
		like($c->getline // '', qr/^\+OK/, 'greeting over TLS');
		$c->cmd('USER carl');
		is($c->cmd("PASS $u{carl}{password}"), $COURIER_OK, 'TLS: PASS: Courier');
		ok($c->quiet(0.3), 'TLS: one +OK');
		my @p = wait_courier_procs($pid);
		is(scalar(@p), 1, 'TLS: one courierpop3d');
		isnt($p[0] && $p[0]{pid}, $pid, 'TLS: in a child, pd relays');
		check_courier($p[0], 'TLS');
		my $env = @p ? proc_env($p[0]{pid}) : {};
		is($env->{POP3_TLS}, '1', 'TLS: env POP3_TLS=1');
		is($env->{TCPREMOTEIP}, '192.0.2.50', 'TLS: env TCPREMOTEIP');
		like($c->cmd('STAT') // '', qr/^\+OK 2 \d+$/, 'TLS: STAT');
		my @m = $c->multi('RETR 1');
		like(join("\n", @m), qr/carl (one|three)/, 'TLS: RETR');
		is($c->cmd('QUIT'), '+OK Bye-bye.', 'TLS: QUIT');
		ok(wait_for_event('pop3 end', { user => 'carl', ip => '192.0.2.50',
						reason => 'backend-closed' }, 5, $mark), 'TLS: log: pop3 end')
			or diag(log_text($mark));
	}
}

finish(map({ $_->{password} } values %u), $WRONG, sasl_plain('cathy', $u{cathy}{password}));
