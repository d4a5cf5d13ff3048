# SPDX-License-Identifier: MIT
#
# PD::Test::Postfix - a private Postfix master (Postfix 3.7) running
# pd-forker-postfix services, for t/4xx-*.t.
#
#   use PD::Test::Postfix qw(:all);
#   start_postfix(
#       { port => port('IMAP'), conf => $conf, proto => 'imap', maxproc => 2,
#         args => ['-o', 'max_idle=30'] },
#       { port => port('X'), conf => $conf, unpriv => '-', command => 'pd-forker-postfix-x' },
#   );
#   my @f = service_forkers(port('IMAP'));     # its pd-forker-postfix processes
#   postfix_reload();                          # HUP, waits for master's "reload"
#   postfix_checks();                          # master saw no crash, no throttle
#
# Everything lives in <testdir>/postfix: main.cf, master.cf, queue_directory
# (pid/, public/, private/), data_directory, and daemon_directory (libexec/)
# with links to pd-forker-postfix (one per command name used) and postlogd.
# postlogd writes master's log to <testdir>/postfix/maillog (there is no
# syslog here).  master runs in the foreground (-d), in a session of its own
# (it kills its whole process group when it stops), and is stopped in END,
# with every process of its tree.

package PD::Test::Postfix;

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Path qw(make_path);
use POSIX qw();
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(testdir bin read_file write_file wait_pid proc_info proc_tree);

our @EXPORT_OK = qw(
	start_postfix stop_postfix postfix_reload postfix_dir master_pid
	maillog wait_for_maillog postfix_checks
	service_forkers forker_of wait_gone listening
	record_env_script recorded_env proc_fds socket_inode
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $MASTER = '/usr/lib/postfix/sbin/master';
our $POSTLOGD = '/usr/lib/postfix/sbin/postlogd';

for my $f ($MASTER, $POSTLOGD) {
	BAIL_OUT("missing component: Postfix $f (package postfix)") unless -x $f;
}
BAIL_OUT('missing component: user postfix (package postfix)')
	unless defined getpwnam('postfix');

my $master_pid;
my %seen_pids;		# every pid seen in master's tree: stopped in END
my $PFX;

sub postfix_dir { $PFX //= testdir() . '/postfix' }
sub master_pid { $master_pid }

sub maillog {
	my ($from) = @_;
	return substr(read_file(postfix_dir() . '/maillog') // '', $from // 0);
}

# Wait up to TIMEOUT (default 5) s for a maillog line matching RE after
# offset FROM; the line(s) or nothing.
sub wait_for_maillog {
	my ($re, $timeout, $from) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		my @m = grep { $_ =~ $re } split /\n/, maillog($from);
		return wantarray ? @m : $m[0] if @m;
		return if time > $end;
		sleep 0.05;
	}
}

# True if something listens on 127.0.0.1:PORT (TCP).
sub listening {
	my ($port) = @_;
	my $want = sprintf('0100007F:%04X', $port);
	for (split /\n/, read_file('/proc/net/tcp') // '') {
		my @f = split ' ';
		return 1 if ($f[1] // '') eq $want && ($f[3] // '') eq '0A';
	}
	return 0;
}

# Start the master with one master.cf line per service hash:
#   port, conf (pd.conf path), proto (imap|pop3, default imap),
#   maxproc (default 2), unpriv/chroot (default 'n'), args (more words),
#   command (name of the link to pd-forker-postfix, default
#   pd-forker-postfix: give a service its own name to tell its lines in
#   the maillog apart).
# Options in a leading hash: main => extra main.cf text.  Waits until every
# port listens.  Returns master's pid.
sub start_postfix {
	my (@svc) = @_;
	my %o = ref $svc[0] eq 'HASH' && !exists $svc[0]{port} ? %{shift @svc} : ();
	die "start_postfix: already running\n" if $master_pid;
	my $d = postfix_dir();
	my $pd = abs_path(bin('pd-forker-postfix'));
	make_path("$d/queue/pid", "$d/queue/public", "$d/queue/private", "$d/data", "$d/libexec");
	chmod 0755, $d, "$d/queue";
	# master binds the unix sockets (postlog) as mail_owner
	my ($uid, $gid) = (getpwnam('postfix'))[2, 3];
	chown $uid, $gid, "$d/data", "$d/queue/public", "$d/queue/private";
	my %links = (postlogd => $POSTLOGD);
	my $mcf = "postlog unix-dgram n - n - 1 postlogd\n";
	for my $s (@svc) {
		my $cmd = $s->{command} // 'pd-forker-postfix';
		$links{$cmd} = $pd;
		$mcf .= join(' ', "127.0.0.1:$s->{port}", 'inet', 'n', $s->{unpriv} // 'n',
			     $s->{chroot} // 'n', '-', $s->{maxproc} // 2, $cmd,
			     '-c', $s->{conf}, '-p', $s->{proto} // 'imap', @{$s->{args} // []}) . "\n";
	}
	for my $l (sort keys %links) {
		unlink "$d/libexec/$l";
		symlink $links{$l}, "$d/libexec/$l" or die "symlink $d/libexec/$l: $!\n";
	}
	write_file("$d/master.cf", $mcf);
	# ASAN_OPTIONS/UBSAN_OPTIONS (set by PD::Test: reports go to files
	# finish() reads) must survive master's environment clean-up.
	write_file("$d/main.cf", <<EOF . ($o{main} // ''));
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
daemon_directory = $d/libexec
mail_owner = postfix
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = $d/maillog
maillog_file_prefixes = $d
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME ASAN_OPTIONS UBSAN_OPTIONS
EOF
	_subreaper();
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		POSIX::setsid();
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$d/master.out";
		open STDERR, '>&', \*STDOUT;
		{ exec { $MASTER } $MASTER, '-c', $d, '-d'; }
		print STDERR "exec $MASTER: $!\n";
		POSIX::_exit(127);
	}
	$master_pid = $pid;
	my $end = time + 10;
	for my $s (@svc) {
		sleep 0.05 until listening($s->{port}) || time > $end || waitpid($pid, POSIX::WNOHANG()) == $pid;
		BAIL_OUT("Postfix master does not listen on 127.0.0.1:$s->{port}:\n"
			 . (read_file("$d/master.out") // '') . maillog())
			unless listening($s->{port});
	}
	wait_for_maillog(qr/daemon started/, 5);
	return $pid;
}

# master exits on SIGTERM without waiting for its children: make this
# process their reaper (PR_SET_CHILD_SUBREAPER) so none is left a zombie of
# an init that does not reap.
sub _subreaper {
	require Config;
	my %prctl = (x86_64 => 157, aarch64 => 167);
	my ($arch) = $Config::Config{archname} =~ /^(x86_64|aarch64)/;
	syscall($prctl{$arch}, 36, 1, 0, 0, 0) if $arch;
}

# The processes in master's tree now (remembered, to be stopped in END).
sub _tree {
	return () unless $master_pid;
	my @t = proc_tree($master_pid);
	$seen_pids{$_->{pid}} = 1 for @t;
	return @t;
}

sub _cmdline {
	my ($pid) = @_;
	my $c = read_file("/proc/$pid/cmdline") // return [];
	return [split /\0/, $c];
}

# The pd-forker-postfix processes master runs for the service on PORT
# (children of master, with "-n 127.0.0.1:PORT"), as proc_info hashes
# with {cmdline}.
sub service_forkers {
	my ($port) = @_;
	my @out;
	for my $p (_tree()) {
		next unless ($p->{ppid} // 0) == $master_pid;
		my $argv = _cmdline($p->{pid});
		my $i = 0;
		$i++ while $i < @$argv && $argv->[$i] ne '-n';
		next unless ($argv->[$i + 1] // '') eq "127.0.0.1:$port";
		next if (read_file("/proc/$p->{pid}/stat") // '') =~ /^\d+ \(.*\) Z /s;
		push @out, { %$p, cmdline => $argv };
	}
	@out = sort { $a->{pid} <=> $b->{pid} } @out;
	return @out;
}

# The pd-forker-postfix process serving PROC (the session process or the
# mail server it became): its parent, if that is a child of master.
sub forker_of {
	my ($p) = @_;
	_tree();
	my $parent = proc_info($p->{ppid} // 0) or return undef;
	return ($parent->{ppid} // 0) == ($master_pid // -1) ? $parent : undef;
}

# Wait up to TIMEOUT s for process PID to be gone (or a zombie); true if so.
sub wait_gone {
	my ($pid, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		my $st = read_file("/proc/$pid/stat");
		return 1 if !defined $st || $st =~ /^\d+ \(.*\) [ZX] /s;
		return 0 if time > $end;
		sleep 0.05;
	}
}

# HUP to master (what "postfix reload" does); waits for its "reload" line.
sub postfix_reload {
	my $mark = length maillog();
	kill 'HUP', $master_pid or die "kill HUP $master_pid: $!\n";
	return wait_for_maillog(qr/postfix\/master\[\d+\]: reload /, 5, $mark);
}

# The fds of PID: { fd => link target }.
sub proc_fds {
	my ($pid) = @_;
	my %fd;
	opendir(my $dh, "/proc/$pid/fd") or return {};
	for (grep { /^\d+$/ } readdir $dh) {
		my $l = readlink("/proc/$pid/fd/$_");
		$fd{$_} = $l if defined $l;
	}
	closedir $dh;
	return \%fd;
}

# "socket:[N]" of the loopback TCP connection SOCK as the server sees it.
sub socket_inode {
	my ($sock) = @_;
	my $local = sprintf('%02X%02X%02X%02X:%04X', reverse(split /\./, $sock->peerhost),
			    $sock->peerport);
	my $rem = sprintf('%02X%02X%02X%02X:%04X', reverse(split /\./, $sock->sockhost),
			  $sock->sockport);
	for (split /\n/, read_file('/proc/net/tcp') // '') {
		my @f = split ' ';
		return "socket:[$f[9]]" if ($f[1] // '') eq $local && ($f[2] // '') eq $rem;
	}
	return undef;
}

# A shell script for [backend dovecot] imap/pop3 that writes its
# environment to <testdir>/env-seen/<pid> and execs REAL (same pid).
# Dovecot zeroes its own environ area for its process title, so
# /proc/PID/environ of a running Dovecot shows nothing.
sub record_env_script {
	my ($real) = @_;
	(my $name = $real) =~ s{.*/}{};
	my $dir = testdir() . '/env-seen';
	make_path($dir);
	chmod 01777, $dir;
	return write_file(testdir() . "/bin/env-$name",
			  "#!/bin/sh\nenv > $dir/\$\$.tmp && mv $dir/\$\$.tmp $dir/\$\$\n"
			  . "exec $real \"\$@\"\n", 0755);
}

# The environment the record_env_script with pid PID started with.
sub recorded_env {
	my ($pid, $timeout) = @_;
	my $f = testdir() . "/env-seen/$pid";
	my $end = time + ($timeout // 3);
	sleep 0.05 until -e $f || time > $end;
	my $t = read_file($f) // return undef;
	return { map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $t };
}

# Tests on what master saw: no process of a pd service killed by a signal,
# no service throttled (but the commands named in ALLOW_THROTTLE), nothing
# from a sanitizer or a secret in master's output or log.
sub postfix_checks {
	my (%o) = @_;
	my $log = maillog();
	my $out = read_file(postfix_dir() . '/master.out') // '';
	my %allow = map { $_ => 1 } @{$o{allow_throttle} // []};
	my @sig = grep { /killed by signal/ } split /\n/, $log;
	ok(!@sig, 'master: no process killed by a signal') or diag(join "\n", @sig);
	my @thr = grep { m{/libexec/(\S+?):? .*throttl|/libexec/(\S+) pid \d+ exit status}
			   && !$allow{$1 // $2} } split /\n/, $log;
	ok(!@thr, 'master: no pd service exited non-zero or was throttled'
	   . (%allow ? ' (but ' . join(', ', sort keys %allow) . ')' : ''))
		or diag(join "\n", @thr);
	# master drops a status record whose generation is not the child's
	# (GENERATION read in the wrong base): concurrency would collapse
	my @gen = grep { /ignoring status update/ } split /\n/, $log;
	ok(!@gen, 'master: took every status record (no generation mismatch)') or diag(join "\n", @gen);
	ok($out !~ /Sanitizer|runtime error:/, "master's stdout/stderr: no sanitizer report")
		or diag($out);
	for my $s (@{$o{secrets} // []}) {
		ok(index($log . $out, $s) < 0, "secret '$s' is not in master's log or output");
	}
}

sub stop_postfix {
	return unless $master_pid;
	_tree();
	kill 'TERM', $master_pid;
	wait_pid($master_pid, 5) // (kill('KILL', $master_pid), wait_pid($master_pid, 2));
	undef $master_pid;
	# master SIGTERMs its process group; anything left of its tree is ours
	my @left = grep { -e "/proc/$_" } sort keys %seen_pids;
	kill 'TERM', @left if @left;
	for my $p (@left) {
		wait_gone($p, 2) or kill('KILL', $p);
	}
	# orphans of master are ours now (subreaper): reap them
	for my $p (@left) {
		my $end = time + 1;
		sleep 0.02 while waitpid($p, POSIX::WNOHANG()) == 0 && time < $end;
	}
	%seen_pids = ();
}

END {
	local $?;
	if ($master_pid && !Test::More->builder->is_passing) {
		my @l = split /\n/, maillog();
		splice(@l, 0, @l - 40) if @l > 40;
		diag("postfix maillog (last lines):\n" . join('', map { "  $_\n" } @l));
	}
	stop_postfix();
}

1;
