#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# Hostile pre-login input, IMAP and POP3: overlong lines, NUL bytes, absurd
# literal sizes, binary garbage, 1000 arguments, bad base64, input one byte
# at a time.  Each case runs in a fresh session and must leave pd answering
# (a NOOP/CAPA after it works) without starting a backend; bad commands end
# the session at max_bad_commands with the BYE line; login_timeout ends an
# idle or dawdling session.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;

my $tmpl = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = %%TIMEOUT%%
max_bad_commands = 3
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3
EOF
my $conf = write_conf($tmpl, TIMEOUT => 10);
my $short = write_conf($tmpl, TIMEOUT => 2, file => 'short.conf');

my $alice = { user => 'alice', password => 'Alice-hostile-pw-51' };
make_user_file($alice);

sub imap {
	my ($cf) = @_;
	my ($s, $pid) = stdio_session($cf // $conf, 'imap');
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub pop3 {
	my ($cf) = @_;
	my ($s, $pid) = stdio_session($cf // $conf, 'pop3');
	my $c = PD::Test::POP3->new($s);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

sub no_backend {
	my ($c) = @_;
	return !grep { $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid});
}

my $garbage = join '', map { chr(1 + int(rand(255))) } 1 .. 4000;
$garbage =~ tr/\r\n//d;

# [name, bytes to send, tag of the expected reply ('*' accepts either)]
my @imap_cases = (
	['100 KB line', 'h1 NOOP ' . ('x' x 100_000) . "\r\n"],
	['100 KB LOGIN argument', 'h1 LOGIN ' . ('u' x 100_000) . " pw\r\n"],
	['100 KB tag', ('T' x 100_000) . " NOOP\r\n"],
	['NUL in the command name', "h1 NO\0OP\r\n"],
	['NUL in a LOGIN argument', "h1 LOGIN alice\0x $alice->{password}\r\n"],
	['NUL inside a quoted string', "h1 LOGIN \"ali\0ce\" \"$alice->{password}\"\r\n"],
	['literal {99999999999999999999}', "h1 LOGIN {99999999999999999999}\r\n"],
	['literal {4294967296}', "h1 LOGIN {4294967296}\r\n"],
	['literal {18446744073709551617}', "h1 LOGIN alice {18446744073709551617}\r\n"],
	['literal with junk {12a}', "h1 LOGIN {12a}\r\n"],
	['negative literal {-1}', "h1 LOGIN {-1}\r\n"],
	['binary garbage', "$garbage\r\n"],
	['1000 arguments', 'h1 LOGIN' . (' x' x 1000) . "\r\n"],
	['unbalanced quote', "h1 LOGIN \"alice $alice->{password}\r\n"],
	['unknown command', "h1 FROBNICATE now\r\n"],
	['SELECT before login', "h1 SELECT INBOX\r\n"],
	['LOGIN without arguments', "h1 LOGIN\r\n"],
	['AUTHENTICATE bad base64', "h1 AUTHENTICATE PLAIN !!!not*base64\r\n"],
	['AUTHENTICATE PLAIN without NULs', 'h1 AUTHENTICATE PLAIN ' . b64('alice') . "\r\n"],
	['AUTHENTICATE unknown mechanism', "h1 AUTHENTICATE X-NOPE\r\n"],
	['AUTHENTICATE PLAIN with an empty response "="', "h1 AUTHENTICATE PLAIN =\r\n"],
);

for my $case (@imap_cases) {
	my ($name, $bytes) = @$case;
	my $c = imap();
	like($c->{greeting} // '', qr/^\* OK/, "$name: greeting");
	$c->send_raw($bytes);
	my @l = $c->lines_until(qr/^(\S+) (BAD|NO)\b/, 5);
	ok(@l, "$name: answered with BAD or NO") or diag(explain($c->{last_lines}));
	is(scalar(grep { /^\+/ } @l), 0, "$name: no continuation request");
	ok(!grep({ /^\S+ OK/ } @l), "$name: nothing accepted") or diag(explain(\@l));
	like(scalar $c->cmd('n1 NOOP') // '', qr/^n1 OK/, "$name: a following NOOP works");
	ok(no_backend($c), "$name: no backend started");
}

# A non-synchronizing literal too large to accept: the client is already
# sending its bytes, so the stream cannot be resynchronised; the server
# refuses it and closes (RFC 7888 section 4).
{
	my $c = imap();
	$c->send_raw("h1 LOGIN {99999999999999999999+}\r\nxyz\r\nn1 NOOP\r\n");
	my $all = $c->read_to_eof(5);
	ok(defined $all, 'non-sync literal {99999999999999999999+}: connection closed');
	like($all // '', qr/\A(h1 BAD[^\r]*\r\n)?\* BYE [^\r]*\r\n\z/, 'with a BYE (after a BAD)');
	ok(no_backend($c), 'no backend');
}

# A continuation for a sane literal, then the client gives up on it: pd
# waits for the bytes, not for a line.
{
	my $c = imap();
	$c->send('h1 LOGIN {5}');
	like($c->getline // '', qr/^\+/, 'sane literal: continuation');
	$c->send_raw("ali\r\n");	# 5 bytes of the literal, CRLF included
	$c->send(" x");
	my $r = $c->tagged('h1');
	like($r // '', qr/^h1 (NO|BAD)/, 'a literal holding CRLF is data, the login fails');
	like(scalar $c->cmd('n1 NOOP') // '', qr/^n1 OK/, 'and pd answers');
}

# Log injection: a literal may hold CR, LF and quotes; the attempted name is
# logged quoted and bounded, never as a line of its own.
{
	my $mark = log_mark();
	my $evil = "evil\r\nimap login user=root ip=6.6.6.6 backend=dovecot\n\"x";
	my $long = 'n' x 1000;
	my $c = imap();
	$c->send_raw('j1 LOGIN {' . length($evil) . "+}\r\n$evil x\r\n");
	like($c->tagged('j1') // '', qr/^j1 (NO|BAD)/, 'CR/LF in a literal user name: refused');
	my $r = $c->cmd("j2 LOGIN $long x") // '';
	like($r, qr/^j2 (NO|BAD)/, '1000-byte user name: refused');
	like(scalar $c->cmd('j3 NOOP') // '', qr/^j3 OK/, 'still answering');
	if ($r =~ /^j2 NO/) {	# looked up, so logged: bounded
		my $e = wait_for_event('imap auth-failed', { user => qr/^nnnn/ }, 5, $mark);
		ok($e, 'the long name is logged') or diag(log_text($mark));
		cmp_ok(length($e ? $e->{user} : ''), '<', 300, 'bounded in the log');
	}
	ok(!grep({ length($_) > 2000 } split /\n/, log_text($mark)), 'no log line is huge');
	my @lines = split /\n/, log_text($mark);
	ok(!grep({ /^imap login/ || /ip=6\.6\.6\.6/ && !/user="evil/ } @lines),
	   'no forged log line') or diag(log_text($mark));
	ok(!wait_for_event('imap login', { user => 'root' }, 0.1, $mark), 'no login of root logged');
	ok(!grep({ /[\x00-\x08\x0b-\x1f\x7f]/ } @lines), 'no control bytes written to the log');
}

# Input one byte at a time reaches every resume point of the parser.
{
	my $c = imap();
	for my $ch (split //, "s1 NOOP\r\n") {
		$c->send_raw($ch);
		sleep 0.01;
	}
	like($c->tagged('s1') // '', qr/^s1 OK/, 'NOOP sent one byte at a time');
	for my $ch (split //, "s2 LOGIN {5}\r\n") {
		$c->send_raw($ch);
		sleep 0.01;
	}
	like($c->getline // '', qr/^\+/, 'literal announced one byte at a time');
	for my $ch (split //, "alice \"$alice->{password}\"\r\n") {
		$c->send_raw($ch);
		sleep 0.01;
	}
	like($c->tagged('s2') // '', qr/^s2 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/,
	     'LOGIN one byte at a time logs in');
	like(scalar $c->cmd('s3 SELECT INBOX') // '', qr/^s3 OK/, 'then Dovecot answers');
	$c->cmd('s4 LOGOUT');
}

# Bare LF line ends and empty lines do not wedge the session.
{
	my $c = imap();
	$c->send_raw("b1 NOOP\n");
	like($c->tagged('b1') // '', qr/^b1 (OK|BAD)/, 'bare LF: answered');
	$c->send_raw("\r\n");
	like(scalar $c->cmd('b2 NOOP') // '', qr/^b2 OK/, 'after an empty line NOOP works');
}

# --- the bad-command limit -----------------------------------------------------------

{
	my $c = imap();
	like(scalar $c->cmd('x1 FOO') // '', qr/^x1 BAD/, 'bad command 1: BAD');
	$c->send_raw("garbage\0garbage\r\n");
	ok(scalar $c->lines_until(qr/^\S+ BAD/), 'bad command 2: BAD');
	like(scalar $c->cmd('n1 NOOP') // '', qr/^n1 OK/, 'after two bad commands still answering');
	$c->send('x3 BAR');
	my @l;
	while (defined(my $l = $c->getline(3))) { push @l, $l }
	is($l[-1] // '', '* BYE Too many invalid commands.', 'bad command 3: * BYE Too many invalid commands.')
		or diag(explain(\@l));
	ok(@l <= 2 && !grep({ !/BAD|BYE/ } @l), 'only a BAD before the BYE') or diag(explain(\@l));
	ok($c->at_eof, 'then the connection is closed');
	my $st = wait_pid($c->{pid}, 3);
	ok(defined $st && !($st & 127), 'pd exits, not by a signal');
}

# Bad commands in one write count one by one: the rest is not served.
{
	my $c = imap();
	$c->send_raw("y1 FOO\r\ny2 BAR\r\ny3 BAZ\r\ny4 NOOP\r\n");
	my $all = $c->read_to_eof(5);
	ok(defined $all, 'three pipelined bad commands: closed');
	like($all // '', qr/\* BYE Too many invalid commands\.\r\n\z/, 'ending with the BYE');
	unlike($all // '', qr/^y4 OK/m, 'the NOOP after them is not answered');
}

# Many 100 KB lines: closed at the limit, not answered forever.
{
	my $c = imap();
	$c->send_raw(join('', ('L NOOP ' . ('z' x 100_000) . "\r\n") x 5));
	my $all = $c->read_to_eof(5);
	ok(defined $all, 'five 100 KB lines: connection closed');
	like($all // '', qr/\* BYE Too many invalid commands\.\r\n\z/, 'with the BYE');
}

# --- login_timeout ----------------------------------------------------------------

{
	# all started together so the suite waits for one timeout, not four
	my $t0 = time;
	my %c = (idle => imap($short), partial => imap($short), pop3 => pop3($short));
	$c{partial}->send_raw('p1 LOGIN alice');

	# login_timeout bounds the whole pre-login phase (DESIGN.md §9), so a
	# client that keeps sending NOOPs is cut off as well
	my $busy = imap($short);
	my $n = 0;
	while (time - $t0 < 6) {
		last unless defined scalar $busy->cmd('k' . $n++ . ' NOOP', 1);
		sleep 0.3;
	}
	my $dt = time - $t0;
	$busy->read_to_eof(1);
	ok($busy->at_eof, 'a session sending NOOPs is closed by login_timeout = 2');
	cmp_ok($dt, '<', 5, 'at about login_timeout');

	for my $k (sort keys %c) {
		my $all = $c{$k}->read_to_eof(6 - (time - $t0));
		my $dt = time - $t0;
		ok(defined $all, "$k session closed by login_timeout = 2");
		cmp_ok($dt, '>', 1.5, "$k: not before the timeout");
		cmp_ok($dt, '<', 5, "$k: nor long after it");
		like($all // '', qr/^((\* BYE|-ERR) [^\r\n]*\r\n)?\z/, "$k: with at most a BYE/-ERR line");
	}
}

# --- POP3 -------------------------------------------------------------------------

my @pop3_cases = (
	['100 KB line', 'NOOP ' . ('x' x 100_000) . "\r\n"],
	['100 KB USER', 'USER ' . ('u' x 100_000) . "\r\n"],
	['NUL in a command', "NO\0OP\r\n"],
	['binary garbage', "$garbage\r\n"],
	['unknown command', "XYZZY\r\n"],
	['AUTH bad base64', "AUTH PLAIN !!!not*base64\r\n"],
	['AUTH unknown mechanism', "AUTH X-NOPE\r\n"],
	['RETR before login', "RETR 1\r\n"],
);

for my $case (@pop3_cases) {
	my ($name, $bytes) = @$case;
	my $c = pop3();
	like($c->{greeting} // '', qr/^\+OK/, "POP3 $name: greeting");
	$c->send_raw($bytes);
	my @l = $c->lines_until(qr/^-ERR/, 5);
	ok(@l, "POP3 $name: -ERR") or diag(explain($c->{last_lines}));
	ok(!grep({ /^\+OK Logged in/ } @l), "POP3 $name: no login") or diag(explain(\@l));
	my @capa = $c->multi('CAPA');
	ok(grep({ /^USER$/ } @capa), "POP3 $name: a following CAPA works");
	ok(no_backend($c), "POP3 $name: no backend started");
}

{
	# pd may refuse the name at once or only at PASS; either way no login
	my $c = pop3();
	like($c->cmd("USER ali\0ce") // '', qr/^(\+OK|-ERR)/, 'POP3 NUL in USER: answered');
	like($c->cmd("PASS $alice->{password}") // '', qr/^-ERR/, 'POP3 NUL in USER: no login');
	my @capa = $c->multi('CAPA');
	ok(grep({ /^USER$/ } @capa), 'POP3 NUL in USER: CAPA works after it');
	ok(no_backend($c), 'POP3 NUL in USER: no backend');
}

{
	my $c = pop3();
	$c->send_raw("FOO\r\n" x 3 . "CAPA\r\n");
	my $all = $c->read_to_eof(5);
	ok(defined $all, 'POP3: pipelined bad commands close the connection');
	like($all // '', qr/-ERR Too many invalid commands\.\r\n\z/, 'with -ERR Too many invalid commands.');
	unlike($all // '', qr/^\+OK/m, 'the CAPA after the third is not answered');
}

{
	my $c = pop3();
	for my $ch (split //, "USER alice\r\nPASS $alice->{password}\r\n") {
		$c->send_raw($ch);
		sleep 0.005;
	}
	like($c->getline // '', qr/^\+OK/, 'POP3 USER one byte at a time');
	is($c->getline, '+OK Logged in.', 'POP3 PASS one byte at a time');
	like($c->cmd('STAT') // '', qr/^\+OK 0 0/, 'Dovecot answers STAT');
	$c->cmd('QUIT');
}

# --- the same over TCP: a hostile client does not hurt the next one --------------------

{
	my $port = port('IMAP');
	start_inetd({ port => $port, proto => 'imap', conf => $conf });
	my @c = map { PD::Test::IMAP->new($port) } 1 .. 3;
	$_->getline for @c;
	$c[0]->send_raw('t1 LOGIN ' . ('q' x 100_000) . "\r\n");
	$c[1]->send_raw("t1 LOGIN {99999999999999999999}\r\n");
	$c[2]->send_raw("$garbage\r\n");
	for my $i (0 .. 2) {
		ok(scalar $c[$i]->lines_until(qr/^\S+ (BAD|NO)/), "TCP hostile client $i: BAD");
		like(scalar $c[$i]->cmd('t2 NOOP') // '', qr/^t2 OK/, "TCP hostile client $i: NOOP works");
	}
	my $good = PD::Test::IMAP->new($port);
	like($good->getline // '', qr/^\* OK/, 'a well-behaved client is greeted');
	like(scalar $good->cmd("g1 LOGIN alice $alice->{password}") // '', qr/^g1 OK \[CAPABILITY/,
	     'and logs in');
	$good->cmd('g2 LOGOUT');
}

{
	my @logins = grep { !/ user=alice\b/ } map { s/"(?:[^"\\]|\\.)*"/""/gr }
		grep { / (imap|pop3) login / } split /\n/, log_text();
	ok(!@logins, 'no login other than alice was ever logged') or diag(explain(\@logins));
}
finish($alice->{password}, b64($alice->{password}));
