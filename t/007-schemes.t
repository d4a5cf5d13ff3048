#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# Every password scheme of a passwd-file, through a real IMAP login over
# stdio: {PLAIN} {CRYPT} {SHA256-CRYPT} {SHA512-CRYPT} {BLF-CRYPT} {SSHA256}
# {SSHA512}, hashes made by mkpasswd and Digest::SHA.  The right password
# reaches Dovecot, a wrong one, an unknown scheme and a mangled hash fail
# with the generic reply.  All sessions of a kind run at once, so the
# failure delay is paid once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use PD::Test qw(:all);
use PD::Test::IMAP;

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
EOF

my @schemes = qw(PLAIN CRYPT SHA256-CRYPT SHA512-CRYPT BLF-CRYPT SSHA256 SSHA512);
my @users;
for my $i (0 .. $#schemes) {
	(my $name = lc "u-$schemes[$i]") =~ s/[^a-z0-9]+/-/g;
	# CRYPT (DES) uses only 8 characters: keep the password at 8
	my $pw = $schemes[$i] eq 'CRYPT' ? "Pw${i}x!7Q" : "Scheme-$schemes[$i]-pw-$i";
	$pw = substr($pw, 0, 8) if $schemes[$i] eq 'CRYPT';
	push @users, { user => $name, password => $pw, scheme => $schemes[$i],
		       uid => 5000 + ($i % 2) };
}
my @broken = (
	{ user => 'u-unknown-scheme', password => 'Unknown-pw-81', hash => '{NOSUCH}Unknown-pw-81' },
	{ user => 'u-mangled', password => 'Mangled-pw-82', hash => '{SSHA256}!!!notbase64' },
	{ user => 'u-short', password => 'Short-pw-83', hash => '{SSHA512}' . b64('abc') },
	{ user => 'u-empty', password => '', hash => '' },
	{ user => 'u-bad-crypt', password => 'Crypt-pw-84', hash => '{SHA512-CRYPT}$6$' },
);
make_user_file(@users, @broken);

sub session {
	my ($s, $pid) = stdio_session($conf, 'imap');
	my $c = PD::Test::IMAP->new($s);
	$c->{pid} = $pid;
	$c->getline;
	return $c;
}

sub quote { my ($s) = @_; $s =~ s/(["\\])/\\$1/g; return qq{"$s"}; }

my $LOGGED_IN = qr/^a1 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $FAILED = 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.';

like($users[1]{hash}, qr/^\{CRYPT\}[.\/0-9A-Za-z]{13}$/, 'CRYPT hash is traditional DES');
like($users[3]{hash}, qr/^\{SHA512-CRYPT\}\$6\$/, 'SHA512-CRYPT hash from mkpasswd');
like($users[4]{hash}, qr/^\{BLF-CRYPT\}\$2[aby]\$/, 'BLF-CRYPT hash from mkpasswd');

# right passwords: all reach Dovecot
{
	my %c = map { $_->{user} => session() } @users;
	$c{$_->{user}}->send("a1 LOGIN $_->{user} " . quote($_->{password})) for @users;
	for my $u (@users) {
		my $c = $c{$u->{user}};
		like($c->tagged('a1', 8) // '', $LOGGED_IN, "{$u->{scheme}}: the right password logs in");
		my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
		is(($b[0] // {})->{uid}[1], $u->{uid}, "{$u->{scheme}}: Dovecot as uid $u->{uid}");
		$c->cmd('a2 LOGOUT');
	}
}

# wrong passwords (the right one with a character changed or appended)
{
	my %c = map { $_->{user} => session() } @users;
	for my $u (@users) {
		(my $wrong = $u->{password}) =~ s/^(.)/$1 eq 'X' ? 'Y' : 'X'/e;
		$c{$u->{user}}->send("a1 LOGIN $u->{user} " . quote($wrong));
	}
	for my $u (@users) {
		my $c = $c{$u->{user}};
		is(scalar $c->tagged('a1', 8), $FAILED, "{$u->{scheme}}: a wrong password fails");
		ok(!grep({ $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid})), "{$u->{scheme}}: no backend");
		$c->cmd('a2 LOGOUT');
	}
	my %p = map { $_->{user} => session() } grep { $_->{scheme} ne 'CRYPT' } @users;
	for my $u (grep { $_->{scheme} ne 'CRYPT' } @users) {
		$p{$u->{user}}->send("a1 LOGIN $u->{user} " . quote("$u->{password}x"));
	}
	for my $u (grep { $_->{scheme} ne 'CRYPT' } @users) {
		is(scalar $p{$u->{user}}->tagged('a1', 8), $FAILED,
		   "{$u->{scheme}}: the password with a character appended fails");
	}
	my $e = session();
	is(scalar $e->cmd('a1 LOGIN u-plain ""', 8), $FAILED, '{PLAIN}: an empty password fails');
}

# broken records (an admin's error) refuse the login - as a failure or,
# like Dovecot does for an unknown scheme, a temporary one - and crash nothing
{
	my %c = map { $_->{user} => session() } @broken;
	$c{$_->{user}}->send("a1 LOGIN $_->{user} " . quote($_->{password})) for @broken;
	for my $u (@broken) {
		my $c = $c{$u->{user}};
		like(scalar $c->tagged('a1', 8) // '',
		     qr/^a1 NO \[(AUTHENTICATIONFAILED|UNAVAILABLE)\] \S/, "$u->{user} ('$u->{hash}'): login refused");
		ok(!grep({ $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid})), "$u->{user}: no backend");
		like(scalar $c->cmd('a2 NOOP') // '', qr/^a2 OK/, "$u->{user}: pd still answers");
		$c->cmd('a3 LOGOUT');
	}
}

finish(map({ $_->{password} } @users), grep { length } map { $_->{password} } @broken);
