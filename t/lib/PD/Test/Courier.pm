# SPDX-License-Identifier: MIT
#
# PD::Test::Courier - what the Courier backend tests (t/2xx-*.t) share: the
# private Courier-IMAP tree (scripts/deps-courier, REFERENCE §2), the
# [backend courier] section that points pd at it, Courier users, and the
# clean-up of the gam_server processes Courier's imapd leaves behind.
#
#   use PD::Test qw(:all);
#   use PD::Test::Courier qw(:all);
#   my $conf = write_conf("log = %%TESTDIR%%/pd.log\n...\n" . courier_section());
#   my $u = courier_user(user => 'cathy', password => '...');
#   make_user_file($u);
#
# Environment: PD_COURIER_DIR, the unpacked tree (default
# <repo>/build/courier, what the Makefile exports).  A missing tree is a
# BAIL_OUT naming it.
#
# Courier users run as uid/gid 65534 (nobody/nogroup): imapd uses gamin, and
# for a uid without a passwd entry gamin fails with "* OK [ALERT] Filesystem
# notification initialization error" and a stall of a second or two per
# session.  So a pd.conf for these tests sets first_valid_uid below 65534.

package PD::Test::Courier;

use strict;
use warnings;

use Exporter qw(import);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(testdir repo_dir proc_tree read_file);

our @EXPORT_OK = qw(
	courier_dir courier_imapd courier_pop3d courier_section courier_user
	courier_procs wait_courier_procs courier_log_lines
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $UID = 65534;
our $GID = 65534;

my $DIR = $ENV{PD_COURIER_DIR} // repo_dir() . '/build/courier';
my $IMAPD = "$DIR/usr/bin/imapd";
my $POP3D = "$DIR/usr/lib/courier/courier/courierpop3d";
my $SETTINGS = "$DIR/etc/courier/imapd";
my $POP3D_SETTINGS = "$DIR/etc/courier/pop3d";
my $GAM = '/usr/libexec/gam_server';

for my $f ($IMAPD, $POP3D) {
	BAIL_OUT("missing component: Courier binary $f (run make deps, or set PD_COURIER_DIR;"
		 . " PD_COURIER_DIR=$DIR)") unless -x $f;
}
for my $f ($SETTINGS, $POP3D_SETTINGS) {
	BAIL_OUT("missing component: Courier settings $f (run make deps; PD_COURIER_DIR=$DIR)")
		unless -f $f;
}
BAIL_OUT("missing component: uid/gid $UID/$GID (nobody/nogroup) in /etc/passwd, /etc/group")
	unless defined getpwuid($UID) && defined getgrgid($GID);

sub courier_dir { $DIR }
sub courier_imapd { $IMAPD }
sub courier_pop3d { $POP3D }

# The [backend courier] section for the private tree.  Options:
# settings => FILE (default the tree's etc/courier/imapd).
sub courier_section {
	my (%o) = @_;
	return "[backend courier]\nimapd = $IMAPD\npop3d = $POP3D\n"
		. 'settings = ' . ($o{settings} // $SETTINGS) . "\n"
		. 'pop3d_settings = ' . ($o{pop3d_settings} // $POP3D_SETTINGS) . "\n";
}

# A user hash (PD::Test::make_user_file / make_user_sqlite) for Courier:
# uid/gid 65534, backend=courier unless given.
sub courier_user {
	my (%u) = @_;
	$u{uid} //= $UID;
	$u{gid} //= $GID;
	$u{backend} = 'courier' unless exists $u{backend};
	delete $u{backend} unless defined $u{backend};
	return \%u;
}

# The Courier servers (imapd, courierpop3d) in the process tree of PID
# (PID itself when pd exec'd Courier in place), as proc_info hashes.
sub courier_procs {
	my ($pid) = @_;
	return grep { $_->{exe} eq $IMAPD || $_->{exe} eq $POP3D } proc_tree($pid);
}

# The same, waiting up to TIMEOUT (default 2) seconds for one to appear.
sub wait_courier_procs {
	my ($pid, $timeout) = @_;
	my $end = time + ($timeout // 2);
	while (1) {
		my @p = courier_procs($pid);
		return @p if @p || time > $end;
		sleep 0.05;
	}
}

# Courier's own log lines ("INFO: LOGIN, user=..."): its stderr goes to
# pd's log sink, pd.log.  After offset FROM, matching RE if given.
sub courier_log_lines {
	my ($re, $from) = @_;
	# pd logs the server's stderr line by line, tagged ("... courier-imapd:
	# INFO: ..."), from a reader process that may write a moment after the
	# session ended: wait up to 3 s for a line that is asked for.
	for my $try (1 .. 30) {
		my $t = substr(read_file(testdir() . '/pd.log') // '', $from // 0);
		my @l = grep { !$re || $_ =~ $re }
			map { /(?:^|: )((?:INFO|ERR|WARN)\w*: .*)$/ ? $1 : () } split /\n/, $t;
		return @l if @l || !$re;
		select(undef, undef, undef, 0.1);
	}
	return ();
}

# imapd starts a gam_server as the mail user, which stays for a minute or
# two after the session.  Stop those of this test file only: they inherit
# imapd's environment, whose HOME is in this test's directory.
sub _stop_gam_servers {
	my $dir = testdir() // return;
	opendir(my $dh, '/proc') or return;
	my @mine;
	for my $pid (grep { /^\d+$/ } readdir $dh) {
		next unless (readlink("/proc/$pid/exe") // '') eq $GAM;
		my $env = read_file("/proc/$pid/environ") // next;
		push @mine, $pid if grep { /^HOME=\Q$dir\E\// } split /\0/, $env;
	}
	closedir $dh;
	kill 'TERM', @mine if @mine;
}

END {
	local $?;
	_stop_gam_servers();
}

1;
