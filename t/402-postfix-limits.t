#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# pd-forker-postfix: the limits and failures of the Postfix master protocol.
# Under a real private master: maxproc (a third client waits until one of
# two logged-in sessions ends), max_use and max_idle (a new process, seen as
# a new pid), failing sessions (a backend the user may not exec, one removed
# while pd runs, one that exits at once, a uid below first_valid_uid) never
# throttle the service, and master.cf lines with unpriv or chroot "y" or a
# pd.conf naming a missing backend are refused (exit 78).  By hand,
# with a fake master (socketpair on fd 5, listener on fd 6): the status
# records (pid, octal GENERATION, TAKEN/AVAIL), exit 0 after max_use, on
# max_idle and when the status fd hangs up, -s 2, the limits from main.cf,
# and the argv checks, "-o { name = value }" (spaces around "="), -v
# logging to pd.conf's log, max_idle=0 (no limit) and very large max_idle.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Cwd qw(abs_path);
use IO::Select;
use IO::Socket::INET;
use POSIX qw();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;
use PD::Test::Postfix qw(:all);

my $dir = testdir();
my $CONF = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 20
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = %%IMAP%%
pop3 = %%POP3%%

[tls]
plaintext_auth = allow
EOF
my $conf = write_conf($CONF, IMAP => $PD::Test::DOVECOT_IMAP, POP3 => $PD::Test::DOVECOT_POP3);
# An IMAP server only root may run (pd's check as root passes, the exec as
# the user fails); a POP3 "server" that exits 1 at once.
my $rootonly = write_file("$dir/bin/imap-rootonly", "#!/bin/sh\nexec $PD::Test::DOVECOT_IMAP \"\$@\"\n",
			  0700);
my $bad_conf = write_conf($CONF, file => 'bad.conf', IMAP => $rootonly, POP3 => '/bin/false');
# An IMAP server that goes away while pd runs (removed by an upgrade).
my $vanishing = "$dir/bin/imap-vanishing";
symlink $PD::Test::DOVECOT_IMAP, $vanishing or die "symlink: $!\n";
my $vanish_conf = write_conf($CONF, file => 'vanish.conf', IMAP => $vanishing,
			     POP3 => $PD::Test::DOVECOT_POP3);
# One that is missing from the start: a startup error (exit 78).
my $missing_conf = write_conf($CONF, file => 'missing.conf', IMAP => '/nonexistent/imap',
			      POP3 => $PD::Test::DOVECOT_POP3);

my %u = (
	alice => { user => 'alice', password => 'Alice-pfx-pw-411', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-pfx-pw-412', scheme => 'SSHA256', uid => 5001 },
	# below first_valid_uid (500): pd must not start a server for it
	lowuid => { user => 'lowuid', password => 'Lowuid-pfx-pw-413', uid => 100, gid => 100 },
);
make_user_file(@u{qw(alice bob lowuid)});

my %P = map { $_ => port($_) } qw(MAX USE IDLE BADIMAP VANISH BADPOP UNPRIV CHROOT MISSING BRACE VERBOSE);
start_postfix(
	{ port => $P{MAX}, conf => $conf, maxproc => 2, args => ['-o', 'max_idle=30'] },
	{ port => $P{USE}, conf => $conf, maxproc => 1, args => ['-o', 'max_use=2'] },
	{ port => $P{IDLE}, conf => $conf, maxproc => 1, args => ['-o', 'max_idle=1'] },
	{ port => $P{BADIMAP}, conf => $bad_conf, maxproc => 1 },
	{ port => $P{VANISH}, conf => $vanish_conf, maxproc => 1 },
	{ port => $P{MISSING}, conf => $missing_conf, maxproc => 1,
	  command => 'pd-forker-postfix-missing' },
	{ port => $P{BADPOP}, conf => $bad_conf, proto => 'pop3', maxproc => 1,
	  args => ['-o', 'max_use=1'] },
	{ port => $P{UNPRIV}, conf => $conf, maxproc => 1, unpriv => '-',
	  command => 'pd-forker-postfix-unpriv' },
	{ port => $P{CHROOT}, conf => $conf, maxproc => 1, chroot => 'y',
	  command => 'pd-forker-postfix-chroot' },
	# Postfix 3 syntax for a value with spaces; master passes "max_use = 1"
	{ port => $P{BRACE}, conf => $conf, maxproc => 1, args => ['-o', '{', 'max_use', '=', '1', '}'] },
	# -v: what "postfix -v" / "master -v" adds to every command line
	{ port => $P{VERBOSE}, conf => $conf, maxproc => 1, args => ['-v'] },
);
my $PD_EXE = abs_path(bin('pd-forker-postfix'));
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $TEMPFAIL = 'NO [UNAVAILABLE] Temporary authentication failure, try again later.';

# Connect and read the greeting: (connection, greeting, seconds it took).
sub greeted {
	my ($port, $cls) = @_;
	my $t0 = time;
	my $c = ($cls // 'PD::Test::IMAP')->new($port);
	my $g = $c->getline(5);
	return ($c, $g, time - $t0);
}

# The pd-forker-postfix behind connection C: the parent of the one process
# holding the server end (the session process or the Dovecot it became).
sub forker_pid {
	my ($c) = @_;
	my $end = time + 2;
	while (1) {
		my @p = tcp_peer_procs($c->sock);
		if (@p == 1) {
			my $f = forker_of($p[0]);
			return wantarray ? ($f->{pid}, $p[0]) : $f->{pid} if $f;
		}
		return wantarray ? (-1, $p[0]) : -1 if time > $end;
		sleep 0.05;
	}
}

sub imap_login {
	my ($c, $user, $tag) = @_;
	return (scalar $c->cmd("$tag LOGIN $user $u{$user}{password}") // '') =~ $LOGGED_IN;
}

sub imap_logout {
	my ($c, $tag) = @_;
	my $ok = (scalar $c->cmd("$tag LOGOUT") // '') =~ /^\Q$tag\E OK/;
	return $ok && defined $c->read_to_eof(3);
}

# --- unpriv / chroot "y" in master.cf, a missing backend: refused at startup ------------

my %refused;
for my $k (qw(UNPRIV CHROOT MISSING)) {
	$refused{$k} = PD::Test::IMAP->new($P{$k});	# master accepts into its backlog
}
# (checked below, after the rest ran: master throttles these for 60 s)

# --- maxproc 2: the third client waits --------------------------------------------

{
	my @c = map { [greeted($P{MAX})] } 1, 2;
	like($_->[1] // '', qr/^\* OK /, 'maxproc 2: client greeted') for @c;
	ok(imap_login($c[$_][0], 'alice', "m$_"), "maxproc 2: client $_ logged in") for 0, 1;
	like(scalar $c[$_][0]->cmd("s$_ SELECT INBOX") // '', qr/^s$_ OK/, "client $_: SELECT")
		for 0, 1;
	my @f = map { scalar forker_pid($_->[0]) } @c;
	ok($f[0] > 0 && $f[1] > 0 && $f[0] != $f[1], 'two pd-forker-postfix processes serve them');
	is(scalar(service_forkers($P{MAX})), 2, 'master runs two (maxproc)');

	my $c3 = PD::Test::IMAP->new($P{MAX});
	ok($c3->quiet(1.2), 'a third client gets no greeting while both are logged in and idle');
	is(scalar(service_forkers($P{MAX})), 2, 'and master starts no third process');
	ok(imap_logout($c[0][0], 'o0'), 'client 1 logs out');
	my $t1 = time;
	like($c3->getline(5) // '', qr/^\* OK /, 'now the third client is greeted');
	cmp_ok(time - $t1, '<', 1.5, 'as soon as a session ended');
	is(scalar forker_pid($c3), $f[0], 'by the pd-forker-postfix that served client 1');
	ok(imap_login($c3, 'alice', 'm3'), 'the third client logs in');
	like(scalar $c[1][0]->cmd('n1 NOOP') // '', qr/^n1 OK/, 'client 2 is still served');
	ok(imap_logout($c3, 'o3'), 'the third client logs out');
	ok(imap_logout($c[1][0], 'o1'), 'client 2 logs out');
}

# --- a burst: 12 clients at once on maxproc 2, all served in turn ------------------

{
	my @c = map { PD::Test::IMAP->new($P{MAX}) } 1 .. 12;
	my ($greeted, $closed) = (0, 0);
	for my $c (@c) {	# the kernel's accept queue is FIFO
		$greeted++ if ($c->getline(5) // '') =~ /^\* OK /;
		$closed++ if (scalar $c->cmd('q1 LOGOUT') // '') =~ /^q1 OK/ && defined $c->read_to_eof(3);
	}
	is($greeted, 12, 'burst of 12 clients on maxproc 2: every one greeted');
	is($closed, 12, 'and every one logged out');
	cmp_ok(scalar(service_forkers($P{MAX})), '<=', 2, 'by at most two processes');
}

# --- a uid below first_valid_uid: NO, and the service goes on ----------------------

{
	my $mark = log_mark();
	my ($c, $g) = greeted($P{MAX});
	like($g // '', qr/^\* OK /, 'lowuid: greeted');
	is(scalar $c->cmd("l1 LOGIN lowuid $u{lowuid}{password}"), "l1 $TEMPFAIL",
	   'lowuid (uid 100 < first_valid_uid): a clean NO');
	is($c->read_to_eof(3), '', 'then the connection is closed');
	my $ev = wait_for_event('imap dispatch-failed', { user => 'lowuid', session => qr/^\S+$/ },
				5, $mark);
	like($ev ? $ev->{_line} : '', qr/first_valid_uid/, 'log: dispatch-failed ... first_valid_uid')
		or diag(log_text($mark));
	ok(!-e "$u{lowuid}{home}/Maildir", 'no maildir made for it');
	for my $i (1, 2) {
		my ($c2, $g2, $dt) = greeted($P{MAX});
		like($g2 // '', qr/^\* OK /, "next client $i after the failure: greeted");
		cmp_ok($dt, '<', 1, 'within 1 s');
		ok(imap_login($c2, 'alice', 'l2'), 'and logs in');
		imap_logout($c2, 'l3');
	}
}

# --- max_use=2: a new process after two sessions ----------------------------------------

{
	my @pids;
	for my $i (1 .. 4) {
		my ($c, $g) = greeted($P{USE});
		like($g // '', qr/^\* OK /, "max_use=2: session $i greeted");
		# pre-login: only the session process holds the client socket
		my ($fp, $sp) = forker_pid($c);
		ok($sp && $sp->{exe} eq $PD_EXE && $sp->{pid} != $fp,
		   "session $i: pre-login, a session process (child of pd-forker-postfix) alone holds the client");
		ok(imap_login($c, 'alice', "u$i"), "session $i: logged in");
		my ($fp2, $dp) = forker_pid($c);
		is($fp2, $fp, "session $i: Dovecot runs in the session process (same parent $fp)");
		is($dp && $dp->{pid}, $sp && $sp->{pid}, "session $i: in the same process as pre-login");
		push @pids, $fp;
		ok(imap_logout($c, "v$i"), "session $i: logged out");
	}
	is($pids[1], $pids[0], 'sessions 1 and 2: the same pd-forker-postfix');
	isnt($pids[2], $pids[0], 'session 3: a new pd-forker-postfix (new pid) after max_use=2');
	is($pids[3], $pids[2], 'session 4: the same as session 3');
	ok(wait_gone($pids[0], 1), 'the first process has exited');
	ok(wait_gone($pids[2], 3), 'the second one too, after its two sessions');
}

# --- max_idle=1: an idle process exits, the next client gets a new one --------------------

{
	my ($c, $g) = greeted($P{IDLE});
	ok(imap_login($c, 'alice', 'i1'), 'max_idle=1: logged in');
	my $p = forker_pid($c);
	ok(imap_logout($c, 'i2'), 'logged out');
	my $t0 = time;
	ok(!wait_gone($p, 0.4), 'the process waits for the next client for a while');
	ok(wait_gone($p, 4), 'and exits when max_idle has passed');
	my $dt = time - $t0;
	cmp_ok($dt, '>', 0.5, 'after about max_idle (' . sprintf('%.1f', $dt) . ' s)');
	my ($c2, $g2, $dt2) = greeted($P{IDLE});
	like($g2 // '', qr/^\* OK /, 'the next client is greeted');
	cmp_ok($dt2, '<', 1, 'at once (no throttle after the idle exit)');
	ok(imap_login($c2, 'alice', 'i3'), 'and logs in');
	isnt(scalar forker_pid($c2), $p, 'by a new pd-forker-postfix');
	imap_logout($c2, 'i4');
}

# --- an IMAP server the user may not exec: NO, the same process serves the next client ----

{
	my @pids;
	for my $i (1 .. 3) {
		my $mark = log_mark();
		my ($c, $g, $dt) = greeted($P{BADIMAP});
		like($g // '', qr/^\* OK /, "backend exec fails, try $i: greeted");
		cmp_ok($dt, '<', 1, "try $i: within 1 s (no throttle)");
		push @pids, scalar forker_pid($c);
		is(scalar $c->cmd("b$i LOGIN alice $u{alice}{password}"), "b$i $TEMPFAIL",
		   "try $i: a clean NO for the login");
		is($c->read_to_eof(3), '', "try $i: then the connection is closed, nothing else sent");
		my $ev = wait_for_event('imap dispatch-failed', { user => 'alice', backend => 'dovecot' },
					5, $mark);
		like($ev ? $ev->{_line} : '', qr{\Q$rootonly\E.*Permission denied}, "try $i: log: "
		     . 'dispatch-failed names the server and the error') or diag(log_text($mark));
	}
	ok($pids[0] > 0 && $pids[1] == $pids[0] && $pids[2] == $pids[0],
	   'the same pd-forker-postfix served all three (a failed session does not end it)')
		or diag("@pids");
}

# --- an IMAP server removed while pd runs: NO, and the service goes on -------------------

{
	my ($c0, $g0) = greeted($P{VANISH});
	like($g0 // '', qr/^\* OK /, 'vanishing backend: greeted while it exists');
	my $p0 = forker_pid($c0);
	unlink $vanishing or die "unlink $vanishing: $!\n";
	my $mark = log_mark();
	is(scalar $c0->cmd("v1 LOGIN alice $u{alice}{password}"), "v1 $TEMPFAIL",
	   'after it is gone: a clean NO for the login');
	is($c0->read_to_eof(3), '', 'then the connection is closed');
	my $ev = wait_for_event('imap dispatch-failed', { user => 'alice' }, 5, $mark);
	like($ev ? $ev->{_line} : '', qr{\Q$vanishing\E}, 'log: dispatch-failed names it')
		or diag(log_text($mark));
	my ($c1, $g1, $dt) = greeted($P{VANISH});
	like($g1 // '', qr/^\* OK /, 'the next client is greeted');
	cmp_ok($dt, '<', 1, 'within 1 s (no throttle)');
	is(scalar forker_pid($c1), $p0, 'by the same pd-forker-postfix');
	$c1->cmd('v2 LOGOUT');
}

# --- a POP3 server that exits 1 at once, max_use=1: respawned, never throttled ---------

{
	my @pids;
	for my $i (1 .. 3) {
		my ($c, $g, $dt) = greeted($P{BADPOP}, 'PD::Test::POP3');
		like($g // '', qr/^\+OK /, "backend exits 1, try $i: greeted");
		cmp_ok($dt, '<', 1, "try $i: within 1 s (no throttle)");
		push @pids, scalar forker_pid($c);
		$c->cmd('USER bob');
		is($c->cmd("PASS $u{bob}{password}"), '+OK Logged in.', "try $i: PASS (pd's +OK)");
		is($c->read_to_eof(3), '', "try $i: then the server's exit closes the connection");
		ok(wait_gone($pids[-1], 3), "try $i: pd-forker-postfix exits after its one use");
	}
	my %uniq = map { $_ => 1 } @pids;
	is(scalar(keys %uniq), 3, 'three processes, one per session (max_use=1)') or diag("@pids");
}

# --- -o { max_use = 1 }: the spaces Postfix allows around "=" ----------------------

{
	my @pids;
	for my $i (1, 2) {
		my ($c, $g) = greeted($P{BRACE});
		like($g // '', qr/^\* OK /, "-o { max_use = 1 }: session $i greeted");
		push @pids, scalar forker_pid($c);
		ok(imap_logout($c, "w$i"), "session $i: logged out");
	}
	isnt($pids[1], $pids[0], '-o { max_use = 1 }: a new process for the second session');
	ok(wait_gone($pids[0], 1), 'the first one exited after one session');
}

# --- -v (postfix -v, master -v): verbose, but still to pd.conf's log -------------------

{
	my $mark = log_mark();
	my ($c, $g) = greeted($P{VERBOSE});
	like($g // '', qr/^\* OK /, '-v: greeted');
	ok(imap_login($c, 'alice', 'x1'), '-v: logged in');
	my $port = $c->sock->sockport;
	ok(imap_logout($c, 'x2'), '-v: logged out');
	ok(wait_for_event('imap login', { user => 'alice', port => $port }, 2, $mark),
	   '-v: the login line is in the log of pd.conf');
}

# --- unpriv / chroot "y", a backend missing at startup: no greeting, exit 78, throttled ---

for my $k (qw(UNPRIV CHROOT MISSING)) {
	my $cmd = 'pd-forker-postfix-' . lc $k;
	ok($refused{$k}->quiet(0.3), "$k: the client got no greeting");
	ok(wait_for_maillog(qr{/libexec/\Q$cmd\E pid \d+ exit status 78$}, 5),
	   "$k: master logs exit status 78 (EX_CONFIG) of $cmd");
	ok(wait_for_maillog(qr{/libexec/\Q$cmd\E: bad command startup -- throttling}, 5),
	   "$k: and throttles the service");
	ok(!service_forkers($P{$k}), "$k: no pd process serves it");
	$refused{$k}->close;
}

# --- the master protocol by hand: a fake master --------------------------------------------

my %fake;	# pid => 1: stopped at the end

# Run pd-forker-postfix as master would, with ARGS: fd 3/4 /dev/null (the
# flow pipe), fd 5 one end of a socketpair (returned), fd 6 a non-blocking
# listener on 127.0.0.1:PORT, env GENERATION.  Returns (pid, status end).
my $fake_cf = "$dir/fake-postfix";
write_file("$fake_cf/main.cf", "# no max_use, no max_idle\n");

sub fake_master {
	my ($ports, $env, @args) = @_;
	$ports = [$ports] unless ref $ports;
	$env = { GENERATION => $env } unless ref $env;
	socketpair(my $ours, my $theirs, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!\n";
	my @l = map { IO::Socket::INET->new(LocalAddr => "127.0.0.1:$_", Listen => 10, ReuseAddr => 1,
					   Blocking => 0) or die "listen $_: $!\n" } @$ports;
	my $port = $ports->[0];
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$dir/fake.stderr";
		open STDERR, '>>', "$dir/fake.stderr";
		open my $null, '<', '/dev/null';
		# to fds 3, 4, 5, 6...: through fds 100... so no dup2 clobbers
		# a source that happens to sit on a target number
		my @src = map { fileno($_) } $null, $null, $theirs, @l;
		POSIX::dup2($src[$_], 100 + $_) for 0 .. $#src;
		for (0 .. $#src) {
			POSIX::dup2(100 + $_, 3 + $_);
			POSIX::close(100 + $_);
		}
		$ENV{MAIL_CONFIG} = $fake_cf;
		$ENV{$_} = $env->{$_} for keys %$env;
		my $bin = bin('pd-forker-postfix');
		{ exec { $bin } 'pd-forker-postfix', '-n', "127.0.0.1:$port", '-t', 'inet', @args; }
		POSIX::_exit(127);
	}
	close $theirs;
	close $_ for @l;
	$fake{$pid} = 1;
	return ($pid, $ours);
}

# One status record from the status socket: [pid, gen, avail], or undef.
sub status_record {
	my ($s, $timeout) = @_;
	my $buf = '';
	my $sel = IO::Select->new($s);
	my $end = time + ($timeout // 3);
	while (length($buf) < 12) {
		return undef unless $sel->can_read($end - time);
		my $n = sysread($s, $buf, 12 - length($buf), length($buf));
		return undef unless $n;
	}
	return [unpack('i I i', $buf)];
}

sub fake_wait {
	my ($pid, $timeout) = @_;
	my $st = wait_pid($pid, $timeout);
	delete $fake{$pid} if defined $st;
	return $st;
}

{
	my $port = port('FAKE1');
	my @argv = ('-c', $conf, '-p', 'imap', '-o', 'max_use=2', '-o', 'max_idle=5m');
	# GENERATION is octal: "17" is 15
	my ($pid, $st) = fake_master($port, '17', @argv);
	my $c = PD::Test::IMAP->new($port);
	like($c->getline // '', qr/^\* OK /, 'by hand: the first client is greeted');
	is_deeply(status_record($st), [$pid, 15, 0],
		  'by hand: TAKEN after accept: {pid, GENERATION read as octal (017 = 15), avail 0}');
	ok(imap_login($c, 'alice', 'f1'), 'by hand: logged in (Dovecot)');
	ok(IO::Select->new($st)->can_read(0.3) ? 0 : 1, 'by hand: no status record during the session');
	ok(imap_logout($c, 'f2'), 'by hand: logged out');
	is_deeply(status_record($st), [$pid, 15, 1], 'by hand: AVAIL when the session is done');
	my $c2 = PD::Test::IMAP->new($port);
	like($c2->getline // '', qr/^\* OK /, 'by hand: the second client is greeted');
	is_deeply(status_record($st), [$pid, 15, 0], 'by hand: TAKEN');
	$c2->close;	# the client just goes away
	is_deeply(status_record($st), [$pid, 15, 1], 'by hand: AVAIL after the client left');
	is(fake_wait($pid, 3), 0, 'by hand: exit 0 after max_use=2 sessions');
	my $c3 = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
	ok(!$c3, 'by hand: and the listener is closed with it');
}

{
	my $port = port('FAKE2');
	my ($pid, $st) = fake_master($port, '1', '-c', $conf, '-p', 'pop3');
	my $c = PD::Test::POP3->new($port);
	like($c->getline // '', qr/^\+OK /, 'by hand, pop3: greeted');
	is_deeply(status_record($st), [$pid, 1, 0], 'by hand, pop3: TAKEN');
	like($c->cmd('QUIT') // '', qr/^\+OK/, 'by hand, pop3: QUIT');
	is_deeply(status_record($st), [$pid, 1, 1], 'by hand, pop3: AVAIL');
	ok(!defined fake_wait($pid, 0.3), 'by hand: waits for the next client');
	close $st;	# what postfix reload / stop does to an idle child
	is(fake_wait($pid, 3), 0, 'by hand: exit 0 when master closes the status fd');
}

{
	my $port = port('FAKE3');
	my $t0 = time;
	my ($pid, $st) = fake_master($port, '1', '-c', $conf, '-p', 'imap', '-o', 'max_idle=1s');
	is(fake_wait($pid, 5), 0, 'by hand: exit 0 after max_idle=1s without a client');
	cmp_ok(time - $t0, '>=', 0.9, 'not before max_idle');
	close $st;
}

{
	# -s 2: two listeners, fds 6 and 7
	my @ports = (port('FAKE4'), port('FAKE5'));
	my ($pid, $st) = fake_master(\@ports, '1', '-s', '2', '-c', $conf, '-p', 'imap');
	for my $i (1, 0) {
		my $c = PD::Test::IMAP->new($ports[$i]);
		like($c->getline // '', qr/^\* OK /, "by hand, -s 2: a client on listener fd " . (6 + $i));
		is_deeply(status_record($st), [$pid, 1, 0], "by hand, -s 2: TAKEN");
		ok(imap_login($c, 'alice', "s$i") && imap_logout($c, "t$i"), '-s 2: a session');
		is_deeply(status_record($st), [$pid, 1, 1], "by hand, -s 2: AVAIL");
	}
	close $st;
	is(fake_wait($pid, 3), 0, 'by hand, -s 2: exit 0 when the status fd closes');
}

{
	# max_use and max_idle from $MAIL_CONFIG/main.cf when -o does not set them
	my $cf = "$dir/fake-postfix-limits";
	write_file("$cf/main.cf", "# pd reads these two\nmax_use = 1\n  max_idle   =   1s  \nsmtpd_max_use = 9\n");
	my $port = port('FAKE6');
	my ($pid, $st) = fake_master($port, { GENERATION => '1', MAIL_CONFIG => $cf }, '-c', $conf);
	my $c = PD::Test::IMAP->new($port);
	like($c->getline // '', qr/^\* OK /, 'by hand, main.cf max_use = 1: greeted');
	ok(imap_logout($c, 'z1'), 'logged out');
	is(fake_wait($pid, 3), 0, 'by hand: exit 0 after one session (max_use from main.cf)');
	close $st;

	$port = port('FAKE7');
	my $t0 = time;
	($pid, $st) = fake_master($port, { GENERATION => '1', MAIL_CONFIG => $cf }, '-c', $conf,
				  '-o', 'max_use=5');
	is(fake_wait($pid, 5), 0, 'by hand: exit 0 after max_idle = 1s from main.cf');
	cmp_ok(time - $t0, '>=', 0.9, 'not before');
	close $st;
}

{
	# -o "max_use = 1": the form master passes for -o { max_use = 1 }
	my $port = port('FAKE8');
	my ($pid, $st) = fake_master($port, '1', '-c', $conf, '-o', 'max_use = 1');
	my $c = PD::Test::IMAP->new($port);
	like($c->getline // '', qr/^\* OK /, 'by hand, -o "max_use = 1": greeted');
	ok(imap_logout($c, 'y1'), 'logged out');
	is(fake_wait($pid, 2), 0, 'by hand, -o "max_use = 1": exit 0 after one session');
	close $st;
	fake_wait($pid, 3);
}

{
	# max_idle = 0 is "no idle limit" for Postfix's servers (single_server.c:
	# "if (var_idle_limit > 0) event_request_timer(...)"); a big value must
	# not wrap around in the poll timeout (max_idle * 1000 as an int).
	my %run;
	for my $idle ('0', '4294968') {
		$run{$idle} = [fake_master(port("IDLE$idle"), '1', '-c', $conf, '-o', "max_idle=$idle")];
	}
	sleep 1.5;
	ok(!defined fake_wait($run{0}[0], 0.05), 'by hand, max_idle=0: still waiting after 1.5 s');
	ok(!defined fake_wait($run{4294968}[0], 0.05), 'by hand, max_idle=4294968: still waiting after 1.5 s');
	for my $r (values %run) {
		close $r->[1];
		fake_wait($r->[0], 3);
	}
}

is(read_file("$dir/fake.stderr") // '', '', 'by hand: pd wrote nothing to stderr');

# argv and environment pd refuses: exit 78 (EX_CONFIG) before touching fds
{
	my @base = ('-n', 'svc', '-t', 'inet');
	my @cases = (
		['unpriv column y (-u)', '1', @base, '-u', '-c', $conf, '-p', 'imap'],
		['chroot column y (bare -c)', '1', @base, '-c', '-c', $conf, '-p', 'imap'],
		['no GENERATION', undef, @base, '-c', $conf, '-p', 'imap'],
		['GENERATION not octal', '9', @base, '-c', $conf, '-p', 'imap'],
		['-p smtp', '1', @base, '-c', $conf, '-p', 'smtp'],
		['-o max_use=lots', '1', @base, '-c', $conf, '-o', 'max_use=lots'],
		['-o max_idle=5x', '1', @base, '-c', $conf, '-o', 'max_idle=5x'],
		['-s 0', '1', @base, '-s', '0', '-c', $conf],
		['an unknown word', '1', @base, '-c', $conf, 'extra'],
		['a missing pd.conf', '1', @base, '-c', "$dir/no-such.conf"],
	);
	for my $t (@cases) {
		my ($name, $gen, @args) = @$t;
		local $ENV{GENERATION};
		if (defined $gen) { $ENV{GENERATION} = $gen } else { delete $ENV{GENERATION} }
		my $r = run_pd('pd-forker-postfix', @args);
		is($r->{rc}, 78, "by hand, $name: exit 78");
	}
}

for my $pid (keys %fake) {
	kill 'TERM', $pid;
	fake_wait($pid, 2);
}

postfix_checks(allow_throttle => [map { "pd-forker-postfix-$_" } qw(unpriv chroot missing)],
	       secrets => [map { $_->{password} } values %u]);
stop_postfix();
finish(map { $_->{password} } values %u);
