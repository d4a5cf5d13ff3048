#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# IMAP with the Courier backend: Courier-IMAP's post-login imapd (from the
# private tree of scripts/deps-courier) exec'd by pd for users whose record
# says backend=courier, through pd-forker-stdio and the real openbsd-inetd.
# Courier answers the LOGIN itself ("<tag> OK LOGIN Ok."), serves a whole
# mailbox session checked on disk, sees the client's real address, runs as
# the user; a Courier user and a Dovecot user in one pd.conf; the maildir
# made by pd when missing and refused when it belongs to someone else;
# OPTIONS=disableimap=1; the record's mail location, quota and extra pairs
# (pd's own variables win, unsafe ones dropped); AUTHENTICATE; bytes
# pipelined after LOGIN relayed by pd and answered by Courier (one command,
# and a 20000-command burst), with the end line's byte counts; TLS with
# IMAP_TLS=1 (stdio --tls and inetd --tls); SQLite records, default_backend
# and what pd takes from a settings file; a missing settings file or imapd
# refused cleanly at login.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Mail::IMAPClient;
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(:all);
use PD::Test::Courier qw(:all);
use PD::Test::IMAP;

my $dir = testdir();
my $C = make_certs();
my $IMAPD = courier_imapd();
my %tls = (CERT => $C->{cert}, KEY => $C->{key});
my $TOP = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 10
auth_failure_delay = 1
# Courier users are uid 65534 (nobody): see PD::Test::Courier.
first_valid_uid = 100
EOF
my $SECTIONS = <<'EOF';

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3

# Plaintext logins from --client-ip documentation addresses; TLS for the
# IMAP_TLS cases.
[tls]
cert = %%CERT%%
key = %%KEY%%
plaintext_auth = allow

EOF
my $conf = write_conf($TOP . <<'EOF' . $SECTIONS . courier_section(), %tls);

[auth]
driver = file
path = %%TESTDIR%%/users
EOF

my %u = (
	cathy => courier_user(user => 'cathy', password => 'Cathy-courier-pw-201'),
	# a Dovecot user (no backend: default_backend) in the same pd.conf
	dora => { user => 'dora', password => 'Dora-dovecot-pw-202', uid => 5000 },
	# maildirs that belong to someone else: uid, gid, and tmp/ only
	olga => courier_user(user => 'olga', password => 'Olga-courier-pw-203'),
	gina => courier_user(user => 'gina', password => 'Gina-courier-pw-204'),
	hank => courier_user(user => 'hank', password => 'Hank-courier-pw-205'),
	noimap => courier_user(user => 'noimap', password => 'Noimap-courier-pw-206',
			       extra => 'OPTIONS=disableimap=1'),
	# a Dovecot-style mail location, a quota, extras that try to override
	# what pd sets or are not safe
	mona => courier_user(user => 'mona', password => 'Mona-courier-pw-207', mail => 'maildir:~/box',
			     quota => '300S', extra => 'AUTHENTICATED=mallory TCPREMOTEIP=198.51.100.6'
			     . ' IMAPLOGINTAG=zz LD_PRELOAD=/nonexistent/pd.so PDX_EXTRA=kept'),
);
make_user_file(@u{qw(cathy dora olga gina hank noimap mona)});
my $WRONG = 'Wrong-courier-pw-209';

# Maildirs pd must refuse: owned by 5000:5000, by 65534:5000, and one with
# only tmp/ owned by 5000.
my %bad = (olga => [5000, 5000, 5000, 5000], gina => [65534, 5000, 65534, 5000],
	   hank => [65534, 65534, 5000, 5000]);
for my $n (sort keys %bad) {
	my ($uid, $gid, $tuid, $tgid) = @{$bad{$n}};
	my $md = $u{$n}{maildir};
	mkdir $_, 0700 for $md, map { "$md/$_" } qw(cur new tmp);
	chown $uid, $gid, $md, "$md/cur", "$md/new";
	chown $tuid, $tgid, "$md/tmp";
}

my $PORT = port('IMAP');
my $PORTS = port('IMAPS');
start_inetd({ port => $PORT, proto => 'imap', conf => $conf },
	    { port => $PORTS, proto => 'imap', conf => $conf, args => ['--tls'] });

my $COURIER_OK = qr/^(\S+) OK LOGIN Ok\.$/;
my $DOVECOT_OK = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $UNAVAILABLE = 'a1 NO [UNAVAILABLE] Temporary authentication failure, try again later.';

sub session {
	my ($cf, @args) = @_;
	my ($s, $pid) = stdio_session($cf, 'imap', @args);
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub tcp_session {
	my ($port) = @_;
	my $c = PD::Test::IMAP->new($port // $PORT);
	$c->{greeting} = $c->getline;
	return $c;
}

# The number of bytes the lines took on the wire (CRLF each).
sub wire { my $n = 0; $n += length($_) + 2 for @_; return $n }

# The one Courier imapd serving a session: its uid, gid and groups.
sub check_courier {
	my ($p, $name) = @_;
	ok($p, "$name: Courier's imapd serves the session") or return;
	is_deeply([@{$p->{uid}}[0 .. 2]], [65534, 65534, 65534], "$name: imapd runs as uid 65534");
	is_deeply([@{$p->{gid}}[0 .. 2]], [65534, 65534, 65534], "$name: and gid 65534");
	ok(!grep({ $_ == 0 } @{$p->{groups}}), "$name: without root's group");
}

# APPEND MSG to INBOX with a synchronizing literal (Courier has no LITERAL+).
sub append {
	my ($c, $tag, $msg) = @_;
	$c->send("$tag APPEND INBOX {" . length($msg) . '}');
	my $cont = $c->getline;
	like($cont // '', qr/^\+ /, "$tag: APPEND continuation from Courier");
	$c->send_raw("$msg\r\n");
	return scalar $c->tagged($tag);
}

# FETCH n BODY.PEEK[]: the literal.
sub fetch_body {
	my ($c, $tag, $n) = @_;
	$c->send("$tag FETCH $n BODY.PEEK[]");
	my $head = $c->lines_until(qr/\{\d+\}$/);
	my ($len) = ($head // '') =~ /\{(\d+)\}$/ or return undef;
	my $body = $c->read_exact($len);
	my $tagged = $c->tagged($tag);
	return undef unless ($tagged // '') =~ /^\Q$tag\E OK/;
	return $body;
}

sub message {
	my ($id, $text) = @_;
	return "From: tester\@test.local\r\nTo: cathy\@test.local\r\nSubject: $id\r\n"
		. "Message-ID: <$id\@test.local>\r\n\r\n$text\r\n";
}

# --- stdio: a whole session, the maildir made by pd ------------------------------------

{
	my $md = $u{cathy}{maildir};
	ok(!-e $md, 'cathy has no maildir yet');
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.21');
	like($c->{greeting} // '', qr/^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] pd ready\./,
	     "pd's own greeting");
	my @l = $c->cmd("a1 LOGIN cathy $u{cathy}{password}");
	is_deeply(\@l, ['a1 OK LOGIN Ok.'], "LOGIN: Courier's own tagged OK, and nothing else");

	# exec'd in place: the stdio session process is imapd now
	my ($p) = wait_courier_procs($c->{pid});
	is($p && $p->{pid}, $c->{pid}, 'imapd was exec\'d in place of pd-forker-stdio');
	check_courier($p, 'stdio');
	my $env = proc_env($c->{pid});
	is($env->{AUTHENTICATED}, 'cathy', 'env AUTHENTICATED=cathy');
	is($env->{IMAPLOGINTAG}, 'a1', 'env IMAPLOGINTAG=a1');
	is($env->{TCPREMOTEIP}, '192.0.2.21', 'env TCPREMOTEIP is the --client-ip address');
	ok(defined $env->{TCPREMOTEPORT}, 'env TCPREMOTEPORT is set');
	is($env->{MAILDIR}, $md, 'env MAILDIR');
	is($env->{HOME}, $u{cathy}{home}, 'env HOME');
	like($env->{IMAP_CAPABILITY} // '', qr/THREAD=ORDEREDSUBJECT/,
	     'env IMAP_CAPABILITY from the settings file');
	ok(!exists $env->{IMAP_TLS}, 'no IMAP_TLS for a plaintext client');
	my @leak = grep { exists $env->{$_} } qw(PATH PD_BIN_DIR PD_COURIER_DIR ASAN_OPTIONS UBSAN_OPTIONS);
	is("@leak", '', "none of the test's own environment reaches imapd");
	is(read_file("/proc/$c->{pid}/cmdline"), "imapd\0$md\0", 'argv: imapd MAILDIR');
	# pd chdirs to the home; imapd then goes into its maildir
	is(readlink("/proc/$c->{pid}/cwd"), $md, 'cwd is the maildir');

	# pd made the missing maildir
	for my $d ($md, map { "$md/$_" } qw(cur new tmp)) {
		my @st = stat($d);
		ok(@st && -d _, "pd created $d");
		is(sprintf('%04o', ($st[2] // 0) & 07777), '0700', "  with mode 0700");
		is(join(':', @st[4, 5]), '65534:65534', '  owned by 65534:65534');
	}
	ok(wait_for_log(qr/created maildir \Q$md\E for cathy/, 5, $mark), 'log: created maildir');

	@l = $c->cmd('a2 CAPABILITY');
	like($l[0] // '', qr/^\* CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT/,
	     'CAPABILITY after login answered by Courier, from IMAP_CAPABILITY');
	@l = $c->cmd('a3 SELECT INBOX');
	ok(grep({ $_ eq '* 0 EXISTS' } @l), 'SELECT INBOX: empty');
	like($l[-1] // '', qr/^a3 OK \[READ-WRITE\]/, 'SELECT OK [READ-WRITE]');

	my $msg = message("c201-stdio-$$", 'Hello Courier over stdio.');
	like(append($c, 'a4', $msg) // '', qr/^a4 OK \[APPENDUID \d+ \d+\]/, 'APPEND OK [APPENDUID]');
	my $f = find_message($md, "<c201-stdio-$$\@test.local>");
	ok($f, 'the APPENDed message is a file in the maildir');
	like(read_file($f // '/nonexistent') // '', qr/Hello Courier over stdio\./, 'with the body');
	is((stat($f // '/nonexistent'))[4], 65534, 'owned by uid 65534');

	@l = $c->cmd('a5 NOOP');
	ok(grep({ $_ eq '* 1 EXISTS' } @l), 'NOOP: * 1 EXISTS');
	my $body = fetch_body($c, 'a6', 1);
	is($body, $msg, 'FETCH BODY.PEEK[]: the message, byte for byte');

	@l = $c->cmd('a7 LOGOUT');
	is_deeply(\@l, ['* BYE Courier-IMAP server shutting down', 'a7 OK LOGOUT completed'],
		  "LOGOUT answered by Courier");
	is($c->read_to_eof(3), '', 'then the connection closes');
	is(wait_pid($c->{pid}, 5), 0, 'the session exits 0');

	ok(wait_for_event('imap login', { user => 'cathy', ip => '192.0.2.21', backend => 'courier',
					  method => 'LOGIN' }, 5, $mark), 'log: imap login ... backend=courier')
		or diag(log_text($mark));
	my @cl = courier_log_lines(qr/^INFO: LOGIN, user=cathy,/, $mark);
	like($cl[0] // '', qr/^INFO: LOGIN, user=cathy, ip=\[192\.0\.2\.21\], port=\[\d+\], protocol=IMAP$/,
	     "Courier's own log line (its stderr is pd's log) names the client address");
	ok(courier_log_lines(qr/^INFO: LOGOUT, user=cathy, ip=\[192\.0\.2\.21\]/, $mark),
	   "Courier's LOGOUT line");
}

# --- inetd: Mail::IMAPClient, the client's real address and port ---------------------------

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $PORT, User => 'cathy',
					 Password => $u{cathy}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'Mail::IMAPClient LOGIN over inetd') or diag($@);
	if ($imap) {
		like(join('', $imap->Results), qr/OK LOGIN Ok\./, 'answered by Courier');
		my $sock = $imap->Socket;
		my $cport = $sock->sockport;
		my @p = tcp_peer_procs($sock);
		is_deeply([map { $_->{exe} } @p], [$IMAPD],
			  'only imapd holds the client socket (exec on the socket, pd gone)')
			or diag(explain(\@p));
		check_courier($p[0], 'inetd');
		my $env = @p ? proc_env($p[0]{pid}) : {};
		is($env->{TCPREMOTEIP}, '127.0.0.1', 'env TCPREMOTEIP=127.0.0.1');
		is($env->{TCPREMOTEPORT}, $cport, 'env TCPREMOTEPORT is the client\'s source port');
		is($env->{TCPLOCALIP}, '127.0.0.1', 'env TCPLOCALIP');
		is($env->{TCPLOCALPORT}, $PORT, 'env TCPLOCALPORT is the service port');
		my $line = (courier_log_lines(qr/^INFO: LOGIN, user=cathy,/, $mark))[0];
		for (my $end = time + 3; !$line && time < $end; sleep 0.05) {
			$line = (courier_log_lines(qr/^INFO: LOGIN, user=cathy,/, $mark))[0];
		}
		is($line, "INFO: LOGIN, user=cathy, ip=[127.0.0.1], port=[$cport], protocol=IMAP",
		   "Courier's log line has the client's address and real source port");
		ok(wait_for_event('imap login', { user => 'cathy', ip => '127.0.0.1', port => $cport,
						  backend => 'courier' }, 5, $mark),
		   'log: imap login ... port=<client port> backend=courier') or diag(log_text($mark));

		ok($imap->select('INBOX'), 'SELECT') or diag($imap->LastError);
		is($imap->message_count('INBOX'), 1, 'the message APPENDed over stdio is there');
		my $id = "c201-inetd-$$";
		my $uid = $imap->append_string('INBOX', message($id, 'Hello Courier over inetd.'));
		ok($uid, 'APPEND') or diag($imap->LastError);
		ok(find_message($u{cathy}{maildir}, "<$id\@test.local>"), 'the message is on disk');
		$imap->select('INBOX');
		like($imap->message_string($uid) // '', qr/Hello Courier over inetd\./, 'FETCH it');
		ok($imap->set_flag('\\Deleted', $uid) && $imap->expunge, 'STORE \\Deleted, EXPUNGE');
		ok(!find_message($u{cathy}{maildir}, "<$id\@test.local>"), 'the file is gone');
		ok($imap->logout, 'LOGOUT');
	}
}

# --- a Courier user and a Dovecot user in the same pd.conf ------------------------------------

{
	my $mark = log_mark();
	my ($cc, $cd) = (tcp_session(), tcp_session());
	like(scalar $cc->cmd("a1 LOGIN cathy $u{cathy}{password}") // '', $COURIER_OK,
	     'inetd: cathy answered by Courier (OK LOGIN Ok.)');
	like(scalar $cd->cmd("a1 LOGIN dora $u{dora}{password}") // '', $DOVECOT_OK,
	     'inetd: dora answered by Dovecot (OK [CAPABILITY ...] Logged in)');
	is_deeply([map { $_->{exe} } tcp_peer_procs($cc->sock)], [$IMAPD], 'cathy: imapd');
	is_deeply([map { $_->{exe} } tcp_peer_procs($cd->sock)], [$PD::Test::DOVECOT_IMAP],
		  'dora: Dovecot imap');
	like(scalar $cc->cmd('a2 SELECT INBOX') // '', qr/^a2 OK \[READ-WRITE\] Ok$/,
	     'cathy: SELECT (Courier)');
	like(scalar $cd->cmd('a2 SELECT INBOX') // '', qr/^a2 OK \[READ-WRITE\] Select completed/,
	     'dora: SELECT (Dovecot)');
	ok(wait_for_event('imap login', { user => 'cathy', backend => 'courier' }, 5, $mark),
	   'log: cathy backend=courier');
	ok(wait_for_event('imap login', { user => 'dora', backend => 'dovecot' }, 5, $mark),
	   'log: dora backend=dovecot');
	is(join(':', (stat("$u{dora}{maildir}/new"))[4, 5]), '5000:5000', "dora's maildir is 5000's");
	$_->cmd('a3 LOGOUT') for $cc, $cd;

	my $sc = session($conf, '--client-ip', '192.0.2.22');
	my $sd = session($conf, '--client-ip', '192.0.2.23');
	like(scalar $sc->cmd("a1 LOGIN cathy $u{cathy}{password}") // '', $COURIER_OK,
	     'stdio: cathy answered by Courier');
	like(scalar $sd->cmd("a1 LOGIN dora $u{dora}{password}") // '', $DOVECOT_OK,
	     'stdio: dora answered by Dovecot');
	is(proc_info($sc->{pid})->{exe}, $IMAPD, 'stdio: cathy is imapd');
	is(scalar(backend_procs($sd->{pid}, $PD::Test::DOVECOT_IMAP)), 1, 'stdio: dora is Dovecot');
	$_->cmd('a2 LOGOUT') for $sc, $sd;
}

# --- what the record says: mail location, quota, extra pairs ---------------------------------

{
	my $mark = log_mark();
	my $md = "$u{mona}{home}/box";
	my $c = session($conf, '--client-ip', '192.0.2.31');
	is_deeply([$c->cmd("a1 LOGIN mona $u{mona}{password}")], ['a1 OK LOGIN Ok.'], 'mona: Courier');
	my $env = proc_env($c->{pid});
	is(read_file("/proc/$c->{pid}/cmdline"), "imapd\0$md\0", 'mail=maildir:~/box: imapd HOME/box');
	is($env->{MAILDIR}, $md, '  and MAILDIR');
	ok(-d "$md/tmp", '  made by pd');
	is($env->{MAILDIRQUOTA}, '300S', 'quota=300S: MAILDIRQUOTA=300S');
	is($env->{PDX_EXTRA}, 'kept', 'an extra pair reaches imapd');
	is($env->{AUTHENTICATED}, 'mona', "an extra AUTHENTICATED does not beat pd's");
	is($env->{TCPREMOTEIP}, '192.0.2.31', "nor an extra TCPREMOTEIP");
	is($env->{IMAPLOGINTAG}, 'a1', "nor an extra IMAPLOGINTAG");
	ok(!exists $env->{LD_PRELOAD}, 'LD_PRELOAD from the record is not passed');
	ok(wait_for_log(qr/user mona: extra 'LD_PRELOAD' not passed/, 5, $mark),
	   'log: the extra that was not passed');
	like(scalar $c->cmd('a2 SELECT INBOX') // '', qr/^a2 OK/, 'SELECT');
	my $big = message("c201-quota-$$", 'q' x 400);
	is(append($c, 'a3', $big), 'a3 NO [ALERT] You exceeded your mail quota.',
	   'Courier enforces the quota: APPEND of 500 bytes refused');
	ok(!find_message($md, "c201-quota-$$"), 'not on disk');
	$c->cmd('a4 LOGOUT');
}

# --- AUTHENTICATE: Courier answers with the AUTHENTICATE's tag ------------------------------

{
	my $c = session($conf, '--client-ip', '192.0.2.33');
	my @l = $c->cmd('x1 AUTHENTICATE PLAIN ' . sasl_plain('cathy', $u{cathy}{password}));
	is_deeply(\@l, ['x1 OK LOGIN Ok.'], 'AUTHENTICATE PLAIN with SASL-IR: Courier');
	like(scalar $c->cmd('x2 SELECT INBOX') // '', qr/^x2 OK \[READ-WRITE\]/, 'then SELECT');
	$c->cmd('x3 LOGOUT');

	$c = session($conf, '--client-ip', '192.0.2.33');
	$c->send('y1 AUTHENTICATE PLAIN');
	is($c->getline, '+ ', 'AUTHENTICATE PLAIN: continuation (pd)');
	$c->send(sasl_plain('cathy', $u{cathy}{password}));
	is_deeply([$c->tagged('y1')], ['y1 OK LOGIN Ok.'], 'AUTHENTICATE PLAIN after a continuation: Courier');
	$c->cmd('y2 LOGOUT');

	$c = session($conf, '--client-ip', '192.0.2.33');
	$c->send('w1 AUTHENTICATE LOGIN');
	like($c->getline // '', qr/^\+ /, 'AUTHENTICATE LOGIN: user prompt');
	$c->send(b64('cathy'));
	like($c->getline // '', qr/^\+ /, 'password prompt');
	$c->send(b64($u{cathy}{password}));
	is_deeply([$c->tagged('w1')], ['w1 OK LOGIN Ok.'], 'AUTHENTICATE LOGIN: Courier');
	like(scalar $c->cmd('w2 SELECT INBOX') // '', qr/^w2 OK \[READ-WRITE\]/, 'then SELECT');
	$c->cmd('w3 LOGOUT');
}

# --- a wrong password for a Courier user: no Courier -------------------------------------------

{
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.24');
	is(scalar $c->cmd("f1 LOGIN cathy $WRONG"), 'f1 NO [AUTHENTICATIONFAILED] Authentication failed.',
	   'wrong password: refused by pd');
	is(scalar(courier_procs($c->{pid})), 0, 'no Courier started');
	like(scalar $c->cmd("f2 LOGIN cathy $u{cathy}{password}") // '', $COURIER_OK,
	     'then the right one: Courier');
	ok(wait_for_event('imap auth-failed', { user => 'cathy', ip => '192.0.2.24' }, 5, $mark),
	   'log: auth-failed');
	$c->cmd('f3 LOGOUT');
}

# --- maildirs that are not the user's: refused before any exec ---------------------------------

for my $n (qw(olga gina hank)) {
	my ($uid, $gid, $tuid, $tgid) = @{$bad{$n}};
	my $md = $u{$n}{maildir};
	my ($path, $owner) = $tuid == $uid ? ($md, "$uid:$gid") : ("$md/tmp", "$tuid:$tgid");
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.25');
	$c->send("a1 LOGIN $n $u{$n}{password}");
	my $all = $c->read_to_eof(5);
	is($all, "$UNAVAILABLE\r\n", "$n ($owner): NO [UNAVAILABLE], then closed");
	my $ev = wait_for_event('imap dispatch-failed', { user => $n, backend => 'courier' }, 5, $mark);
	like($ev ? $ev->{_line} : '', qr/: \Q$path\E is owned by \Q$owner\E, not by \Q$n\E \(65534:65534\)$/,
	     "$n: log: dispatch-failed ... $path is owned by $owner, not by $n (65534:65534)")
		or diag(log_text($mark));
	my $st = wait_pid($c->{pid}, 5);
	ok(defined $st && !($st & 127), "$n: pd exits (no signal)");
	ok(!courier_log_lines(qr/user=\Q$n\E,/, $mark), "$n: Courier never ran (no Courier log line)");
	is(join(':', (stat($md))[4, 5]), "$uid:$gid", "$n: the maildir's owner is untouched");
	is(join(':', (stat("$md/tmp"))[4, 5]), "$tuid:$tgid", "$n: and tmp/'s");
}

# The same with bytes pipelined after LOGIN (pd would relay): still refused,
# nothing of the pipelined command answered.
{
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.26');
	$c->send_raw("a1 LOGIN olga $u{olga}{password}\r\na2 SELECT INBOX\r\n");
	is($c->read_to_eof(5), "$UNAVAILABLE\r\n", 'pipelined: olga NO [UNAVAILABLE], then closed');
	# (logged by the relay's child, in another shape: no "imap", ip, backend)
	ok(wait_for_log(qr/dispatch-failed user=olga .*: \Q$u{olga}{maildir}\E is owned by 5000:5000,/,
			5, $mark), 'pipelined: log: dispatch-failed ... is owned by 5000:5000')
		or diag(log_text($mark));
	ok(wait_for_event('imap end', { user => 'olga', out => 0, 'backend-status' => 'failed' }, 5, $mark),
	   'pipelined: log: imap end out=0 backend-status=failed') or diag(log_text($mark));
	ok(!courier_log_lines(qr/user=olga,/, $mark), 'pipelined: Courier never ran');
}

# --- OPTIONS=disableimap=1 from the record ---------------------------------------------------------

{
	my $c = session($conf, '--client-ip', '192.0.2.27');
	$c->send("a1 LOGIN noimap $u{noimap}{password}");
	is($c->read_to_eof(5), "a1 OK LOGIN Ok.\r\n* BYE IMAP access disabled for this account.\r\n",
	   'OPTIONS=disableimap=1: Courier says OK LOGIN, then BYE IMAP access disabled');
	is(wait_pid($c->{pid}, 5), 0, 'and exits');
}

# --- a command pipelined right after LOGIN: pd relays, Courier answers ----------------------------

{
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.28');
	my $pipelined = "b1 SELECT INBOX\r\n";
	$c->send_raw("a1 LOGIN cathy $u{cathy}{password}\r\n$pipelined");
	my @l = $c->tagged('a1');
	is_deeply(\@l, ['a1 OK LOGIN Ok.'], 'pipelined: LOGIN answered by Courier');
	my @s = $c->tagged('b1');
	like($s[-1] // '', qr/^b1 OK \[READ-WRITE\] Ok$/, 'pipelined SELECT answered by Courier');
	ok(grep({ /^\* \d+ EXISTS$/ } @s), 'with its EXISTS');
	# pd stays in the path: the client's end is pd's, imapd a child of it
	is(proc_info($c->{pid})->{exe}, bin('pd-forker-stdio'), 'pd-forker-stdio is still pd');
	my @p = courier_procs($c->{pid});
	is(scalar(@p), 1, 'one imapd below it');
	isnt($p[0] && $p[0]{pid}, $c->{pid}, 'in a child process');
	check_courier($p[0], 'relay');
	my $env = @p ? proc_env($p[0]{pid}) : {};
	is($env->{TCPREMOTEIP}, '192.0.2.28', 'relay: env TCPREMOTEIP is the client\'s address');
	my $logout = "b2 LOGOUT\r\n";
	$c->send_raw($logout);
	my $rest = $c->read_to_eof(5);
	is($rest, "* BYE Courier-IMAP server shutting down\r\nb2 OK LOGOUT completed\r\n",
	   'LOGOUT through the relay, then closed');
	my $out = wire(@l, @s) + length($rest // '');
	my $in = length($pipelined) + length($logout);
	my $ev = wait_for_event('imap end', { user => 'cathy', ip => '192.0.2.28' }, 5, $mark);
	ok($ev, 'log: imap end') or diag(log_text($mark));
	is($ev && $ev->{in}, $in, "end line: in=$in (the pipelined command and LOGOUT)");
	is($ev && $ev->{out}, $out, "end line: out=$out (all Courier said)");
	is($ev && $ev->{reason}, 'backend-closed', 'reason=backend-closed');
	ok(!exists $ev->{'backend-status'}, 'imapd exited 0') if $ev;
	my ($co) = courier_log_lines(qr/^INFO: LOGOUT, user=cathy, ip=\[192\.0\.2\.28\]/, $mark);
	like($co // '', qr/, rcvd=$in, sent=$out,/, "Courier's own counts agree");
	is(wait_pid($c->{pid}, 5), 0, 'pd exits 0');
}

# A burst far larger than pd's pre-login buffer in the same write: every
# command reaches Courier, in order.
{
	my $mark = log_mark();
	my $c = session($conf, '--client-ip', '192.0.2.32');
	my $n = 20000;
	my $after = join('', map { "n$_ NOOP\r\n" } 1 .. $n) . "z LOGOUT\r\n";
	$c->send_raw("a1 LOGIN cathy $u{cathy}{password}\r\n$after");
	my $all = $c->read_to_eof(20) // '';
	like($all, qr/\Aa1 OK LOGIN Ok\.\r\n/, "burst: Courier's LOGIN OK first");
	my @tags = $all =~ /^(n\d+) OK NOOP completed\r$/mg;
	is(scalar(@tags), $n, "burst: $n NOOPs answered by Courier");
	is_deeply(\@tags, [map { "n$_" } 1 .. $n], 'burst: in order');
	like($all, qr/\r\nz OK LOGOUT completed\r\n\z/, 'burst: then LOGOUT');
	my $ev = wait_for_event('imap end', { user => 'cathy', ip => '192.0.2.32' }, 5, $mark);
	is($ev && $ev->{in}, length($after), 'burst: end line in= is every byte after LOGIN');
	is($ev && $ev->{out}, length($all), 'burst: out= is every byte Courier sent');
}

# The same over inetd: the client's real port still reaches Courier.
{
	my $mark = log_mark();
	my $c = tcp_session();
	my $cport = $c->sock->sockport;
	$c->send_raw("a1 LOGIN cathy $u{cathy}{password}\r\nb1 SELECT INBOX\r\n");
	like(scalar $c->tagged('a1') // '', $COURIER_OK, 'inetd pipelined: LOGIN (Courier)');
	like(scalar $c->tagged('b1') // '', qr/^b1 OK \[READ-WRITE\]/, 'inetd pipelined: SELECT (Courier)');
	my @p = tcp_peer_procs($c->sock);
	is_deeply([map { $_->{exe} } @p], [bin('pd-forker-inet')], 'pd holds the client socket (relay)');
	my @b = @p ? courier_procs($p[0]{pid}) : ();
	is(scalar(@b), 1, 'imapd is its child');
	is(@b ? proc_env($b[0]{pid})->{TCPREMOTEPORT} : undef, $cport, 'with TCPREMOTEPORT=<client port>');
	like(scalar $c->cmd('b2 LOGOUT') // '', qr/^b2 OK LOGOUT completed/, 'LOGOUT');
	my $in = length("b1 SELECT INBOX\r\nb2 LOGOUT\r\n");
	ok(wait_for_event('imap end', { user => 'cathy', ip => '127.0.0.1', in => $in,
					reason => 'backend-closed' }, 5, $mark),
	   "log: imap end in=$in (b1 SELECT INBOX, b2 LOGOUT)") or diag(log_text($mark));
	ok(courier_log_lines(qr/^INFO: LOGIN, user=cathy, ip=\[127\.0\.0\.1\], port=\[$cport\], protocol=IMAP$/,
			     $mark), "Courier's log line: ip=[127.0.0.1], port=[$cport]");
}

# --- TLS: pd relays, Courier told IMAP_TLS=1 ------------------------------------------------------

{
	my $mark = log_mark();
	my ($s, $pid) = stdio_session($conf, 'imap', '--tls', '--client-ip', '192.0.2.29');
	my ($ssl, $err) = tls_upgrade($s);
	ok($ssl, 'pd-forker-stdio --tls: handshake') or diag($err);
	if ($ssl) {
		my $c = PD::Test::IMAP->new($ssl);
		like($c->getline // '', qr/^\* OK \[CAPABILITY /, 'greeting over TLS');
		my @l = $c->cmd("a1 LOGIN cathy $u{cathy}{password}");
		is_deeply(\@l, ['a1 OK LOGIN Ok.'], 'TLS: LOGIN answered by Courier');
		my @p = wait_courier_procs($pid);
		is(scalar(@p), 1, 'TLS: one imapd');
		isnt($p[0] && $p[0]{pid}, $pid, 'TLS: in a child, pd relays');
		check_courier($p[0], 'TLS');
		my $env = @p ? proc_env($p[0]{pid}) : {};
		is($env->{IMAP_TLS}, '1', 'TLS: env IMAP_TLS=1');
		is($env->{TCPREMOTEIP}, '192.0.2.29', 'TLS: env TCPREMOTEIP');
		is($env->{AUTHENTICATED}, 'cathy', 'TLS: env AUTHENTICATED');
		my @s = $c->cmd('b1 SELECT INBOX');
		like($s[-1] // '', qr/^b1 OK \[READ-WRITE\]/, 'TLS: SELECT');
		my $msg = message("c201-tls-$$", 'Hello Courier over TLS.');
		my $a = append($c, 'b2', $msg);
		like($a // '', qr/^b2 OK \[APPENDUID/, 'TLS: APPEND');
		ok(find_message($u{cathy}{maildir}, "<c201-tls-$$\@test.local>"), 'TLS: on disk');
		my @o = $c->cmd('b3 LOGOUT');
		like($o[-1] // '', qr/^b3 OK LOGOUT/, 'TLS: LOGOUT');
		is($c->read_to_eof(5), '', 'TLS: closed');
		my $ev = wait_for_event('imap end', { user => 'cathy', ip => '192.0.2.29' }, 5, $mark);
		ok($ev, 'TLS: log: imap end') or diag(log_text($mark));
		my ($co) = courier_log_lines(qr/^INFO: LOGOUT, user=cathy, ip=\[192\.0\.2\.29\]/, $mark);
		like($co // '', qr/, starttls=1$/, "Courier's LOGOUT line says starttls=1");
		my ($rcvd, $sent) = ($co // '') =~ /rcvd=(\d+), sent=(\d+)/;
		is($ev && $ev->{in}, $rcvd, 'TLS: end line in= is what Courier read');
		is($ev && $ev->{out}, $sent, 'TLS: end line out= is what Courier wrote');
		my $li = wait_for_event('imap login', { user => 'cathy', backend => 'courier' }, 5, $mark);
		like($li ? $li->{tls} : '', qr/^TLSv1\.[23]\//, 'log: imap login tls=TLSv1.x/...');
	}
}

{
	my $mark = log_mark();
	my $s = tls_connect(port => $PORTS);
	ok($s, 'implicit TLS over inetd');
	if ($s) {
		my $c = PD::Test::IMAP->new($s);
		my $cport = $s->sockport;
		$c->getline;
		like(scalar $c->cmd("a1 LOGIN cathy $u{cathy}{password}") // '', $COURIER_OK,
		     'inetd TLS: Courier');
		my @p = tcp_peer_procs($s);
		my @b = @p ? courier_procs($p[0]{pid}) : ();
		my $env = @b ? proc_env($b[0]{pid}) : {};
		is($env->{IMAP_TLS}, '1', 'inetd TLS: IMAP_TLS=1');
		is($env->{TCPREMOTEPORT}, $cport, 'inetd TLS: TCPREMOTEPORT=<client port>');
		$c->cmd('a2 LOGOUT');
		ok(courier_log_lines(qr/^INFO: LOGIN, user=cathy, ip=\[127\.0\.0\.1\], port=\[$cport\]/, $mark),
		   "inetd TLS: Courier's log line has the client address");
	}
}

# --- SQLite records, default_backend = courier, a settings file of our own ------------------------

{
	my $settings = write_file('courier-settings', <<'EOF');
# what pd takes from a Courier settings file
IMAP_CAPABILITY="IMAP4rev1 XPD-SETTINGS-201 NAMESPACE"
PD_SINGLE='single quoted'
PD_BARE=bare
PD_CMD=$(touch /tmp/pd-201-must-not-exist)
IMAP_UMASK=022
EOF
	my $sq_auth = <<'EOF';
default_backend = courier

[auth]
driver = sqlite
path = %%TESTDIR%%/users.db
EOF
	my $sq = write_conf($TOP . $sq_auth . $SECTIONS . courier_section(settings => $settings),
			    %tls, file => 'sqlite.conf');
	my %s = (
		# backend column empty: default_backend = courier
		sara => courier_user(user => 'sara', password => 'Sara-sqlite-pw-210', backend => undef),
		# the column says courier
		sue => courier_user(user => 'sue', password => 'Sue-sqlite-pw-211', backend => 'courier'),
		# the column says dovecot
		dana => { user => 'dana', password => 'Dana-sqlite-pw-212', uid => 5000, backend => 'dovecot' },
	);
	make_user_sqlite(values %s);
	my $mark = log_mark();
	for my $n (qw(sara sue)) {
		my $c = session($sq, '--client-ip', '192.0.2.30');
		is_deeply([$c->cmd("a1 LOGIN $n $s{$n}{password}")], ['a1 OK LOGIN Ok.'],
			  "sqlite: $n answered by Courier");
		my $env = proc_env($c->{pid});
		is($env->{IMAP_CAPABILITY}, 'IMAP4rev1 XPD-SETTINGS-201 NAMESPACE',
		   "$n: IMAP_CAPABILITY from our settings file");
		is($env->{PD_SINGLE}, 'single quoted', "$n: a 'single quoted' value");
		is($env->{PD_BARE}, 'bare', "$n: a bare value");
		ok(!exists $env->{PD_CMD}, "$n: a \$(command) is not taken");
		my @l = $c->cmd('a2 CAPABILITY');
		like($l[0] // '', qr/^\* CAPABILITY IMAP4rev1 XPD-SETTINGS-201 NAMESPACE/,
		     "$n: Courier's CAPABILITY is the settings file's");
		$c->cmd('a3 LOGOUT');
	}
	ok(!-e '/tmp/pd-201-must-not-exist', 'the settings file was never run by a shell');
	ok(wait_for_log(qr/courier-settings:5: PD_CMD .*ignored/, 5, $mark),
	   'log: the $(command) line is named, file:line') or diag(log_text($mark));
	my $c = session($sq, '--client-ip', '192.0.2.30');
	like(scalar $c->cmd("a1 LOGIN dana $s{dana}{password}") // '', $DOVECOT_OK,
	     'sqlite: backend column dovecot: Dovecot');
	$c->cmd('a2 LOGOUT');
	ok(wait_for_event('imap login', { user => 'sara', backend => 'courier' }, 5, $mark),
	   'log: sara backend=courier');
	%u = (%u, map { ("sq_$_" => $s{$_}) } keys %s);
}

# --- a [backend courier] that cannot work: a startup error naming file:line ----------------------

{
	my $nosettings = write_conf($TOP . "\n[auth]\ndriver = file\npath = %%TESTDIR%%/users\n"
				    . courier_section(settings => "$dir/no-such-settings"), file => 'nosettings.conf');
	my $nobin = write_conf($TOP . "\n[auth]\ndriver = file\npath = %%TESTDIR%%/users\n"
			       . "[backend courier]\nimapd = $dir/no-such-imapd\n", file => 'nobin.conf');
	for my $case ([$nosettings, 'a settings file that is not there', qr/nosettings\.conf:\d+: settings = \Q$dir\E\/no-such-settings: No such file/],
		      [$nobin, 'an imapd that is not there', qr/nobin\.conf:\d+: imapd = \Q$dir\E\/no-such-imapd: No such file/]) {
		my ($cf, $name, $re) = @$case;
		for my $args (['-n'], []) {
			my $r = run_pd('pd-forker-stdio', '-c', $cf, @$args);
			is($r->{rc}, 78, "$name (@$args): exit 78") or diag($r->{err});
			like($r->{err}, $re, "$name (@$args): stderr names file:line and the path")
				or diag($r->{err});
			is($r->{out}, '', "$name (@$args): no greeting");
		}
	}
}

finish(map({ $_->{password} } values %u), $WRONG, sasl_plain('cathy', $u{cathy}{password}),
       b64($u{cathy}{password}));
