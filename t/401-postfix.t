#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# pd-forker-postfix under a real (private) Postfix master: IMAP and POP3
# logins through master.cf services landing in Dovecot (checked on disk),
# the process layout (master -> pd-forker-postfix -> session process that
# becomes Dovecot), the log line of a login, what reaches Dovecot (a clean
# environment, no fd of master's), and "postfix reload" with a session
# running.  Limits and failures: t/402-postfix-limits.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Cwd qw(abs_path);
use Mail::IMAPClient;
use Net::POP3;
use Test::More;
use Time::HiRes qw(time);

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
# The same, with scripts that record the environment they get before they
# exec Dovecot (same pid).
my $env_conf = write_conf($CONF, file => 'env.conf',
			  IMAP => record_env_script($PD::Test::DOVECOT_IMAP),
			  POP3 => record_env_script($PD::Test::DOVECOT_POP3));

my %u = (
	alice => { user => 'alice', password => 'Alice-pfx-pw-401', scheme => 'SHA512-CRYPT' },
	bob => { user => 'bob', password => 'Bob-pfx-pw-402', scheme => 'SSHA256', uid => 5001 },
);
make_user_file(@u{qw(alice bob)});
my $WRONG = 'Wrong-pfx-pw-499';

my %P = map { $_ => port($_) } qw(IMAP POP3 ENVIMAP ENVPOP3);
start_postfix(
	{ port => $P{IMAP}, conf => $conf, proto => 'imap', maxproc => 2, args => ['-o', 'max_idle=30'] },
	{ port => $P{POP3}, conf => $conf, proto => 'pop3', maxproc => 2, args => ['-o', 'max_idle=30'] },
	{ port => $P{ENVIMAP}, conf => $env_conf, proto => 'imap', maxproc => 1 },
	{ port => $P{ENVPOP3}, conf => $env_conf, proto => 'pop3', maxproc => 1 },
);
my $PD_EXE = abs_path(bin('pd-forker-postfix'));
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;

# Who serves the client of SOCK: exactly one process, which must be EXE,
# whose parent is a pd-forker-postfix child of master for service PORT.
sub check_layout {
	my ($sock, $exe, $port, $uid, $name) = @_;
	my @p = tcp_peer_procs($sock);
	my $end = time + 2;
	while ((@p != 1 || $p[0]{exe} ne $exe) && time < $end) {
		select(undef, undef, undef, 0.05);
		@p = tcp_peer_procs($sock);
	}
	is_deeply([map { $_->{exe} } @p], [$exe], "$name: only $exe holds the client socket");
	my $srv = $p[0] or return;
	is_deeply([@{$srv->{uid}}[0 .. 2]], [($uid) x 3], "$name: as uid $uid");
	my $f = forker_of($srv);
	ok($f, "$name: its parent is a process of master") or return $srv;
	is($f->{exe}, $PD_EXE, "$name: that parent is pd-forker-postfix");
	ok(grep({ $_->{pid} == $f->{pid} } service_forkers($port)),
	   "$name: of the service on port $port");
	isnt($f->{pid}, $srv->{pid}, "$name: the session runs in its own process, not in master's child");
	is_deeply([@{$f->{uid}}[0 .. 1]], [0, 0], "$name: pd-forker-postfix runs as root");
	$srv->{forker} = $f;
	return $srv;
}

sub line_pid {
	my ($ev) = @_;
	return ($ev && $ev->{_line} =~ /pd-forker-postfix\[(\d+)\]:/) ? $1 : -1;
}

# --- IMAP: Mail::IMAPClient through master, a mailbox session on disk -------

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $P{IMAP}, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'IMAP through master: Mail::IMAPClient LOGIN as alice')
		or diag($@ // '', $imap ? $imap->LastError : '');
	last unless $imap && $imap->IsAuthenticated;
	like(join('', $imap->Results), qr/OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/,
	     'the login is answered by Dovecot');
	my $srv = check_layout($imap->Socket, $PD::Test::DOVECOT_IMAP, $P{IMAP}, 5000, 'imap');

	my $ev = wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1',
		port => $imap->Socket->sockport, backend => 'dovecot', method => 'LOGIN',
		tls => 'no', session => qr/^[0-9a-f]{8,}$/ }, 5, $mark);
	ok($ev, 'log: imap login user=alice ip=127.0.0.1 port=<client port> backend=dovecot '
	   . 'method=LOGIN tls=no session=<id>') or diag(log_text($mark));
	is(line_pid($ev), $srv && $srv->{pid}, 'the login line comes from the session process (now Dovecot)');

	ok($imap->select('INBOX'), 'SELECT INBOX') or diag($imap->LastError);
	my $msgid = "<pd-401-$$-a\@test.local>";
	my $uid = $imap->append_string('INBOX', "From: t\@test.local\r\nSubject: pd 401\r\n"
				       . "Message-ID: $msgid\r\n\r\nHello through master.\r\n");
	ok($uid, 'APPEND') or diag($imap->LastError);
	my $file = find_message($u{alice}{maildir}, $msgid);
	ok($file && $file =~ m{/Maildir/(new|cur)/[^/]+$}, "the message is a file in alice's Maildir")
		or diag(join "\n", maildir_files($u{alice}{maildir}));
	is((stat($file // '/nonexistent'))[4], 5000, 'owned by alice');
	like($imap->message_string($uid) // '', qr/Hello through master\./, 'FETCH it back');
	ok($imap->logout, 'LOGOUT');
	if ($srv) {
		ok(wait_gone($srv->{pid}, 3), 'the session process is gone after LOGOUT');
		ok(!wait_gone($srv->{forker}{pid}, 0.3),
		   'pd-forker-postfix lives on for the next client (max_use not reached)');
	}
}

# --- IMAP: raw AUTHENTICATE PLAIN, a wrong password first -------------------

{
	my $mark = log_mark();
	my $c = PD::Test::IMAP->new($P{IMAP});
	like($c->getline // '', qr/^\* OK \[CAPABILITY [^\]]*AUTH=PLAIN[^\]]*\] /, 'raw IMAP greeting');
	is(scalar $c->cmd("a1 LOGIN alice $WRONG"), 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.',
	   'wrong password through master: NO');
	ok(wait_for_event('imap auth-failed', { user => 'alice', ip => '127.0.0.1' }, 5, $mark),
	   'log: imap auth-failed user=alice');
	like(scalar $c->cmd('a2 AUTHENTICATE PLAIN ' . sasl_plain('alice', $u{alice}{password})) // '',
	     $LOGGED_IN, 'AUTHENTICATE PLAIN in the same session: Dovecot answers');
	ok(wait_for_event('imap login', { user => 'alice', method => 'PLAIN', backend => 'dovecot' },
			  5, $mark), 'log: imap login method=PLAIN');
	like(scalar $c->cmd('a3 SELECT INBOX') // '', qr/^a3 OK \[READ-WRITE\]/, 'SELECT');
	like(scalar $c->cmd('a4 LOGOUT') // '', qr/^a4 OK/, 'LOGOUT');
	is($c->read_to_eof(3), '', 'closed after LOGOUT');
}

# --- POP3: Net::POP3 through master -------------------------------------------

{
	my $id = "pd-401-pop-$$";
	my $f = put_message($u{bob}, "From: t\@test.local\nSubject: $id\nMessage-ID: <$id\@test.local>\n\n"
			    . "POP3 through master.\n");
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $P{POP3}, Timeout => 10);
	ok($pop, 'POP3 through master: Net::POP3 connects');
	last unless $pop;
	my $n = $pop->login('bob', $u{bob}{password});
	is($n, 1, 'login as bob: one message (the count comes from Dovecot)');
	my $srv = check_layout($pop, $PD::Test::DOVECOT_POP3, $P{POP3}, 5001, 'pop3');
	my $ev = wait_for_event('pop3 login', { user => 'bob', ip => '127.0.0.1', port => $pop->sockport,
		backend => 'dovecot', tls => 'no', session => qr/^[0-9a-f]{8,}$/ }, 5, $mark);
	ok($ev, 'log: pop3 login user=bob ip=127.0.0.1 port=<client port> backend=dovecot session=<id>')
		or diag(log_text($mark));
	is(line_pid($ev), $srv && $srv->{pid}, 'the login line comes from the session process');
	my $m = $pop->get(1);
	like(join('', @{$m || []}), qr/Message-ID: <\Q$id\E\@test\.local>.*POP3 through master\./s,
	     'RETR 1: the message placed in the maildir');
	ok($pop->delete(1), 'DELE 1');
	ok($pop->quit, 'QUIT');
	ok(!find_message($u{bob}{maildir}, $id), 'the message file is gone from disk after QUIT');
}

# --- what reaches Dovecot: environment and fds ---------------------------------

for my $proto (qw(imap pop3)) {
	my $port = $proto eq 'imap' ? $P{ENVIMAP} : $P{ENVPOP3};
	my $exe = $proto eq 'imap' ? $PD::Test::DOVECOT_IMAP : $PD::Test::DOVECOT_POP3;
	my ($c, $ok);
	if ($proto eq 'imap') {
		$c = PD::Test::IMAP->new($port);
		$c->getline;
		$ok = (scalar $c->cmd("e1 LOGIN alice $u{alice}{password}") // '') =~ $LOGGED_IN;
		$ok &&= (scalar $c->cmd('e2 SELECT INBOX') // '') =~ /^e2 OK/;
	} else {
		$c = PD::Test::POP3->new($port);
		$c->getline;
		$c->cmd('USER alice');
		$ok = ($c->cmd("PASS $u{alice}{password}") // '') eq '+OK Logged in.';
		$ok &&= ($c->cmd('STAT') // '') =~ /^\+OK/;
	}
	ok($ok, "$proto: logged in through the recording service");
	my $srv = check_layout($c->sock, $exe, $port, 5000, "$proto env") or next;
	my $f = $srv->{forker} or next;

	# master's child has master's variables: the test means something
	my $fenv = { map { /^([^=]*)=(.*)$/s ? ($1 => $2) : () }
		     split /\0/, read_file("/proc/$f->{pid}/environ") // '' };
	ok(defined $fenv->{MAIL_CONFIG} && defined $fenv->{GENERATION},
	   "$proto: pd-forker-postfix got MAIL_CONFIG and GENERATION from master")
		or diag(explain($fenv));
	# import_environment keeps the sanitizer options: reports of an
	# ASan build land where finish() looks
	is($fenv->{ASAN_OPTIONS}, $ENV{ASAN_OPTIONS}, "$proto: and ASAN_OPTIONS (import_environment)");

	my $env = recorded_env($srv->{pid});
	ok($env, "$proto: the backend recorded its environment") or next;
	my @bad = grep { /^(MAIL_CONFIG|MAIL_LOGTAG|GENERATION|POSTLOG_\w*|MAIL_DEBUG|LANG|ASAN_OPTIONS|UBSAN_OPTIONS|LD_\w+)$/ }
		sort keys %$env;
	is_deeply(\@bad, [], "$proto: none of master's variables reach Dovecot")
		or diag(explain($env));
	is($env->{USER}, 'alice', "$proto: USER=alice");
	is($env->{HOME}, $u{alice}{home}, "$proto: HOME");
	is($env->{MAIL}, "maildir:$u{alice}{maildir}", "$proto: MAIL=maildir:<maildir>");
	is($env->{IP}, '127.0.0.1', "$proto: IP=127.0.0.1");
	is($env->{LOCAL_IP}, '127.0.0.1', "$proto: LOCAL_IP=127.0.0.1");
	is($env->{IMAPLOGINTAG}, 'e1', 'imap: IMAPLOGINTAG=e1') if $proto eq 'imap';

	# fds: 0 and 1 the client, 2 the log; nothing of master's
	my $ffd = proc_fds($f->{pid});
	my %master_fd = map { ($ffd->{$_} // "none$_") => "pd-forker-postfix fd $_" } 3 .. 6;
	like($ffd->{5} // '', qr/^socket:/, "$proto: pd-forker-postfix has master's status socket on fd 5");
	like($ffd->{6} // '', qr/^socket:/, "$proto: and the listening socket on fd 6");
	my $fds = proc_fds($srv->{pid});
	my $client = socket_inode($c->sock) // 'no-client-socket';
	is($fds->{0}, $client, "$proto: Dovecot's fd 0 is the client socket");
	is($fds->{1}, $client, "$proto: Dovecot's fd 1 is the client socket");
	like($fds->{2} // '', qr/^pipe:/,
	     "$proto: Dovecot's fd 2 is a pipe to pd's log reader, never the log file itself");
	my @leak = map { "fd $_ -> $fds->{$_} ($master_fd{$fds->{$_}})" }
		grep { $master_fd{$fds->{$_}} } sort { $a <=> $b } keys %$fds;
	is_deeply(\@leak, [], "$proto: Dovecot holds no fd of master (status, listener, flow pipe)");
	my @sockets = map { "fd $_ -> $fds->{$_}" }
		grep { $_ > 1 && $fds->{$_} =~ /^socket:/ } sort { $a <=> $b } keys %$fds;
	is_deeply(\@sockets, [], "$proto: no socket but the client's on fds 0 and 1")
		or diag(explain($fds));
	if ($proto eq 'imap') { $c->cmd('e9 LOGOUT') } else { $c->cmd('QUIT') }
	is($c->read_to_eof(3), '', "$proto: closed after logout");
}

# --- postfix reload with a session running ---------------------------------------

{
	my $c1 = PD::Test::IMAP->new($P{IMAP});
	$c1->getline;
	like(scalar $c1->cmd("r1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'reload: a session logged in before');
	like(scalar $c1->cmd('r2 SELECT INBOX') // '', qr/^r2 OK/, 'reload: SELECT before');
	my $srv = check_layout($c1->sock, $PD::Test::DOVECOT_IMAP, $P{IMAP}, 5000, 'reload');
	my $busy = $srv && $srv->{forker} ? $srv->{forker}{pid} : -1;
	my @old = service_forkers($P{IMAP});
	my @idle = grep { $_->{pid} != $busy } @old;

	ok(postfix_reload(), 'postfix reload (HUP to master): master logs "reload"');
	for my $p (@idle) {
		ok(wait_gone($p->{pid}, 3), "an idle pd-forker-postfix ($p->{pid}) exits when master "
		   . 'closes its status fd');
	}
	like(scalar $c1->cmd('r3 SELECT INBOX') // '', qr/^r3 OK \[READ-WRITE\]/,
	     'reload: the running session can still SELECT');
	like(scalar $c1->cmd('r4 NOOP') // '', qr/^r4 OK/, 'and NOOP');
	ok(!wait_gone($busy, 0.2), 'the busy pd-forker-postfix still waits for its session');

	my $t0 = time;
	my $c2 = PD::Test::IMAP->new($P{IMAP});
	like($c2->getline(5) // '', qr/^\* OK /, 'after the reload a new connection is greeted');
	cmp_ok(time - $t0, '<', 2, 'at once');
	like(scalar $c2->cmd("n1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'and logs in');
	my $b2 = check_layout($c2->sock, $PD::Test::DOVECOT_IMAP, $P{IMAP}, 5000, 'after reload');
	ok($b2 && $b2->{forker} && !grep({ $_->{pid} == $b2->{forker}{pid} } @old),
	   'served by a pd-forker-postfix started after the reload');

	like(scalar $c1->cmd('r5 LOGOUT') // '', qr/^r5 OK/, 'the old session logs out');
	is($c1->read_to_eof(3), '', 'and is closed');
	ok(wait_gone($busy, 3), 'then its pd-forker-postfix exits (status fd gone)');
	like(scalar $c2->cmd('n2 SELECT INBOX') // '', qr/^n2 OK/, 'the new session goes on');
	$c2->cmd('n3 LOGOUT');

	my $pop = Net::POP3->new('127.0.0.1', Port => $P{POP3}, Timeout => 10);
	ok($pop && defined $pop->login('bob', $u{bob}{password}), 'POP3 still served after the reload');
	$pop->quit if $pop;
}

# --- GENERATION past 7, where octal and decimal differ ------------------------------
# master puts its generation in GENERATION in octal and drops status records
# with another one: read in the wrong base, master would think a busy
# process available and concurrency would collapse to one.

{
	my ($gen, $n) = ('', 0);
	while ($n++ < 16) {
		postfix_reload() or last;
		my $c = PD::Test::IMAP->new($P{IMAP});
		$c->getline;
		my $f = forker_of((tcp_peer_procs($c->sock))[0] // {});
		my %env = map { /^([^=]*)=(.*)$/s ? ($1 => $2) : () }
			split /\0/, read_file("/proc/" . ($f ? $f->{pid} : 0) . "/environ") // '';
		$gen = $env{GENERATION} // '';
		$c->cmd('g0 LOGOUT');
		$c->read_to_eof(3);
		last if $gen =~ /^[0-7]+$/ && oct($gen) >= 8;
	}
	like($gen, qr/^[0-7]{2,}$/, "after $n reloads master's GENERATION is octal '$gen' (>= 010)");
	my @c = map { PD::Test::IMAP->new($P{IMAP}) } 1, 2;
	my $t0 = time;
	like($c[0]->getline(5) // '', qr/^\* OK /, "generation $gen: first client greeted");
	ok((scalar $c[0]->cmd("g1 LOGIN alice $u{alice}{password}") // '') =~ $LOGGED_IN,
	   'and logged in');
	like($c[1]->getline(5) // '', qr/^\* OK /, 'a second client is greeted while the first is logged in');
	cmp_ok(time - $t0, '<', 2, 'at once: master took the TAKEN record and started a second process');
	ok((scalar $c[1]->cmd("g2 LOGIN alice $u{alice}{password}") // '') =~ $LOGGED_IN,
	   'and logs in');
	my @f = map { forker_of((tcp_peer_procs($_->sock))[0] // {}) } @c;
	ok($f[0] && $f[1] && $f[0]{pid} != $f[1]{pid}, 'two pd-forker-postfix processes of generation '
	   . $gen);
	$_->cmd('g3 LOGOUT') for @c;
}

postfix_checks(secrets => [map({ $_->{password} } values %u), $WRONG]);
stop_postfix();
finish(map({ $_->{password} } values %u), $WRONG, sasl_plain('alice', $u{alice}{password}));
