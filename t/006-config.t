#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# pd.conf handling of both forkers: -n prints the effective configuration
# (and that output is itself a valid pd.conf that prints the same), comments
# and include work, and every kind of bad configuration is exit 78 with an
# error naming file:line on stderr - without a greeting to a client.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use PD::Test qw(:all);
use PD::Test::IMAP;

my $good = write_conf(<<'EOF');
# a comment line
hostname = test.local     # a trailing comment
log = %%TESTDIR%%/pd.log
login_timeout = 17
max_bad_commands = 4
auth_failure_delay = 1

[auth]
driver = file
path = %%TESTDIR%%/users

[backend dovecot]
imap = /usr/lib/dovecot/imap
pop3 = /usr/lib/dovecot/pop3
EOF
make_user_file({ user => 'alice', password => 'Alice-conf-pw-71' });

# The value of KEY in section SEC of -n output ('' = top level).
sub conf_value {
	my ($text, $sec, $key) = @_;
	my $cur = '';
	for (split /\n/, $text) {
		if (/^\s*\[\s*(.*?)\s*\]\s*$/) { $cur = $1; next; }
		return $1 if $cur eq $sec && /^\s*\Q$key\E\s*=\s*(.*?)\s*$/;
	}
	return undef;
}

for my $forker (qw(pd-forker-stdio pd-forker-inet)) {
	my $r = run_pd($forker, '-c', $good, '-n');
	is($r->{rc}, 0, "$forker -n: exit 0") or diag($r->{err});
	is(conf_value($r->{out}, '', 'hostname'), 'test.local', "$forker -n: hostname, comment stripped");
	is(conf_value($r->{out}, '', 'login_timeout'), '17', "$forker -n: login_timeout");
	is(conf_value($r->{out}, '', 'max_bad_commands'), '4', "$forker -n: max_bad_commands");
	is(conf_value($r->{out}, '', 'log'), testdir() . '/pd.log', "$forker -n: log");
	is(conf_value($r->{out}, 'auth', 'driver'), 'file', "$forker -n: [auth] driver");
	is(conf_value($r->{out}, 'auth', 'path'), testdir() . '/users', "$forker -n: [auth] path");
	is(conf_value($r->{out}, 'backend dovecot', 'imap'), '/usr/lib/dovecot/imap',
	   "$forker -n: [backend dovecot] imap");
	unlike($r->{out}, qr/a trailing comment|a comment line/, "$forker -n: no comments carried over");

	my $again = write_file("effective-$forker.conf", $r->{out});
	my $r2 = run_pd($forker, '-c', $again, '-n');
	is($r2->{rc}, 0, "$forker: the -n output is a valid pd.conf") or diag($r2->{err});
	is($r2->{out}, $r->{out}, "$forker: and prints the same again");
}

# include: values of the included file count, relative to nothing surprising
{
	write_file('inc/limits.conf', "max_bad_commands = 7\n");
	my $main = write_conf(<<'EOF', file => 'with-include.conf');
hostname = inc.local
include %%TESTDIR%%/inc/limits.conf
log = %%TESTDIR%%/pd.log
[auth]
driver = file
path = %%TESTDIR%%/users
EOF
	my $r = run_pd('pd-forker-stdio', '-c', $main, '-n');
	is($r->{rc}, 0, 'include: exit 0') or diag($r->{err});
	is(conf_value($r->{out}, '', 'max_bad_commands'), '7', 'include: the included value is effective');
	is(conf_value($r->{out}, '', 'hostname'), 'inc.local', 'include: the includer\'s values too');
}

# --- errors: exit 78, file:line on stderr --------------------------------------------------

# [name, config text, line number the error must name, word the message must contain]
my @bad = (
	['unknown top-level key', "hostname = x\nlog = stderr\nno_such_key = 1\n", 3, 'no_such_key'],
	['unknown key in [auth]', "hostname = x\n\n[auth]\ndriver = file\nbogus_auth_key = 1\n", 5, 'bogus_auth_key'],
	['unknown key in [backend dovecot]', "[backend dovecot]\nimap = /usr/lib/dovecot/imap\nsmtp = /bin/true\n", 3, 'smtp'],
	['unknown section', "hostname = x\n[no such section]\nkey = v\n", 2, 'no such section'],
	['not a number', "hostname = x\nmax_bad_commands = lots\n", 2, 'max_bad_commands'],
	['number out of range', "login_timeout = 0\n", 1, 'login_timeout'],
	['number with junk', "hostname = x\n\n\nauth_failure_delay = 2s\n", 4, 'auth_failure_delay'],
	['negative number', "max_bad_commands = -1\n", 1, 'max_bad_commands'],
	['huge number', "login_timeout = 99999999999999999999999\n", 1, 'login_timeout'],
	['unknown driver', "[auth]\n# comment\ndriver = nosuchdb\n", 3, 'driver'],
	['bad boolean', "[auth]\nlowercase = perhaps\n", 2, 'lowercase'],
	['line without =', "hostname = x\njust some words\n", 2, ''],
	['unclosed section header', "hostname = x\n[auth\n", 2, ''],
	['missing include', "hostname = x\ninclude /nonexistent/pd-inc.conf\n", 2, 'pd-inc.conf'],
);

for my $case (@bad) {
	my ($name, $text, $line, $word) = @$case;
	(my $file = "bad-$name.conf") =~ s/[^\w.-]+/-/g;
	my $path = write_file($file, $text);
	for my $forker (qw(pd-forker-stdio pd-forker-inet)) {
		my $r = run_pd($forker, '-c', $path, '-n');
		is($r->{rc}, 78, "$name ($forker): exit 78") or diag($r->{err});
		like($r->{err}, qr/\Q$path\E:$line\b/, "$name ($forker): stderr names $file:$line")
			or diag($r->{err});
		like($r->{err}, qr/\Q$word\E/, "$name ($forker): and '$word'") if $word ne '';
		is($r->{out}, '', "$name ($forker): nothing on stdout");
	}
}

# an error inside an included file names that file and its line
{
	my $inc = write_file('inc/broken.conf', "max_bad_commands = 3\n\nwhat_is_this = 1\n");
	my $main = write_file('includes-broken.conf', "hostname = x\ninclude $inc\n");
	my $r = run_pd('pd-forker-stdio', '-c', $main, '-n');
	is($r->{rc}, 78, 'error in an included file: exit 78');
	like($r->{err}, qr/\Q$inc\E:3\b/, 'names the included file and its line') or diag($r->{err});
}

{
	my $r = run_pd('pd-forker-stdio', '-c', testdir() . '/does-not-exist.conf', '-n');
	is($r->{rc}, 78, 'missing config file: exit 78');
	like($r->{err}, qr/does-not-exist\.conf/, 'names the file') or diag($r->{err});
}

# a bad config in a real session: no greeting, exit 78
{
	my $path = testdir() . '/bad-unknown-top-level-key.conf';
	my ($s, $pid) = stdio_session($path, 'imap');
	my $c = PD::Test::IMAP->new($s);
	my $all = $c->read_to_eof(5);
	is($all, '', 'bad config: the client gets nothing, not a greeting');
	my $st = wait_pid($pid, 5);
	is(defined $st ? $st >> 8 : 'running', 78, 'bad config: the session exits 78');
}

# the same under inetd: the client is turned away at once, and the error
# (which names files) does not reach it
{
	my $path = testdir() . '/bad-unknown-top-level-key.conf';
	my ($pi, $pp) = (port('IMAP'), port('POP3'));
	start_inetd({ port => $pi, proto => 'imap', conf => $path },
		    { port => $pp, proto => 'pop3', conf => $path });
	for my $t (['imap', $pi, qr/^\* BYE /], ['pop3', $pp, qr/^-ERR /]) {
		my ($proto, $port, $re) = @$t;
		my $c = PD::Test::Conn->new($port);
		my $all = $c->read_to_eof(5);
		ok(defined $all, "$proto under inetd, bad config: connection closed at once");
		like($all // '', qr/\A([^\r\n]*\r\n)?\z/, "$proto: at most one line");
		like($all, $re, "$proto: a refusal line") if length($all // '');
		unlike($all // '', qr/no_such_key|\.conf|\Q${\ testdir()}\E/, "$proto: no config details sent");
	}
}

# the good config starts a session and uses its values (max_bad_commands = 4)
{
	my ($s) = stdio_session($good, 'imap');
	my $c = PD::Test::IMAP->new($s);
	like($c->getline // '', qr/^\* OK/, 'good config: greeting');
	like(scalar $c->cmd("b$_ BOGUS") // '', qr/^(b$_|\*) BAD/, "bad command $_ of 4: BAD") for 1 .. 3;
	like(scalar $c->cmd('n1 NOOP') // '', qr/^n1 OK/, 'still open after 3 (max_bad_commands = 4)');
	$c->send('b4 BOGUS');
	my @l;
	while (defined(my $l = $c->getline(3))) { push @l, $l }
	is($l[-1] // '', '* BYE Too many invalid commands.', 'closed at the 4th');
}

finish('Alice-conf-pw-71');
