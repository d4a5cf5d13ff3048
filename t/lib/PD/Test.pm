# SPDX-License-Identifier: MIT
#
# PD::Test - the shared harness of pd's integration tests (t/NNN-*.t).
#
# Everything lives in one temporary directory per test file and on loopback:
# the pd.conf, the user database, the users' homes, the logs, a private inetd.
# Whatever a test starts is stopped in END.  A component the suite needs that
# is missing is a BAIL_OUT naming it; nothing is ever skipped.
#
#   use PD::Test qw(:all);
#   my $conf = write_conf(<<'EOF');
#   log = %%TESTDIR%%/pd.log
#   ...
#   EOF
#   my $s = stdio_session($conf, 'imap');          # a socket to a pd session
#   start_inetd({ port => port('IMAP'), proto => 'imap', conf => $conf });
#
# Environment: PD_BIN_DIR (default <repo>/build/bin), PD_TEST_KEEP=1 keeps
# the temporary directory and prints where it is.

package PD::Test;

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(sha256 sha512);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IPC::Open2 qw(open2);
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG);
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(
	testdir repo_dir bin port write_conf write_file read_file
	hash_password make_home make_user_file make_user_sqlite
	maildir_files find_message put_message
	stdio_session start_inetd run_pd wait_pid
	log_mark log_text wait_for_log log_fields wait_for_event finish
	proc_info proc_tree tcp_peer_procs backend_procs
	b64 sasl_plain
	make_certs tls_options tls_connect tls_upgrade run_cmd proc_env server_certs
	env_recorder backend_env
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# Components every integration test relies on.
our $DOVECOT_IMAP = '/usr/lib/dovecot/imap';
our $DOVECOT_POP3 = '/usr/lib/dovecot/pop3';
our $INETD = '/usr/sbin/inetd';

my $REPO = abs_path(dirname(__FILE__) . '/../../..');
my $BIN_DIR = $ENV{PD_BIN_DIR} // "$REPO/build/bin";
my $DIR;
my %ports;		# name => port
my %port_locks;		# port => UDP socket bound to it (the lock)
my @children;		# pids this process started and must stop
my %stdio_pids;		# pid => 1 for pd-forker-stdio sessions
my %exit_status;	# pid => wait status, of every child reaped
my $inetd_pid;
my $nfile = 0;

$SIG{PIPE} = 'IGNORE';

sub _which {
	my ($name) = @_;
	for my $d (split /:/, ($ENV{PATH} // '') . ':/usr/sbin:/usr/bin:/sbin:/bin') {
		return "$d/$name" if $d ne '' && -x "$d/$name";
	}
	return undef;
}

# --- load-time checks ------------------------------------------------------

BAIL_OUT('integration tests must run as root (chown, setuid backends, inetd)')
	if $> != 0;
for my $f ($DOVECOT_IMAP, $DOVECOT_POP3) {
	BAIL_OUT("missing component: Dovecot binary $f (package dovecot-imapd/dovecot-pop3d)")
		unless -x $f;
}
BAIL_OUT("missing component: $INETD (package openbsd-inetd)") unless -x $INETD;
BAIL_OUT('missing component: mkpasswd (package whois)') unless _which('mkpasswd');
BAIL_OUT('missing component: sqlite3 CLI (package sqlite3)') unless _which('sqlite3');
BAIL_OUT('missing component: openssl CLI (package openssl)') unless _which('openssl');
for my $m (qw(Mail::IMAPClient Net::POP3 DBI DBD::SQLite IO::Socket::SSL)) {
	BAIL_OUT("missing component: perl module $m") unless eval "require $m; 1";
}

$DIR = tempdir('pd-test-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PD_TEST_KEEP});
chmod 0755, $DIR or BAIL_OUT("chmod $DIR: $!");
diag("PD_TEST_KEEP: test directory $DIR") if $ENV{PD_TEST_KEEP};
# Sanitizer reports of any pd process (a SANITIZE=1 build) land in files
# finish() looks at, whatever else the caller put in the options.
$ENV{ASAN_OPTIONS} = join ':', grep { length } $ENV{ASAN_OPTIONS} // 'detect_leaks=1:abort_on_error=1',
	"log_path=$DIR/asan";
$ENV{UBSAN_OPTIONS} = join ':', grep { length } $ENV{UBSAN_OPTIONS} // 'print_stacktrace=1',
	"log_path=$DIR/ubsan";

sub testdir { $DIR }
sub repo_dir { $REPO }

# Path of a pd executable; BAIL_OUT if it is not built.
sub bin {
	my ($name) = @_;
	my $p = "$BIN_DIR/$name";
	BAIL_OUT("missing component: $p (run make, or set PD_BIN_DIR)") unless -x $p;
	return $p;
}

# --- ports -----------------------------------------------------------------

# A free loopback TCP port for NAME, the same one for every call with that
# name.  As Test::Nginx does, the port is locked by holding a UDP socket bound
# to the same number for the life of the test, so test files run in parallel
# (prove -j) never pick the same port; the TCP port itself is left free for
# the daemon under test to bind.
sub port {
	my ($name) = @_;
	$name //= 0;
	return $ports{$name} if exists $ports{$name};
	for (1 .. 500) {
		my $p = 20000 + int(rand(20000));
		next if $port_locks{$p};
		my $lock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => "127.0.0.1:$p")
			or next;
		my $probe = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => "127.0.0.1:$p",
						  Listen => 1, ReuseAddr => 1) or next;
		close $probe;
		$port_locks{$p} = $lock;
		return $ports{$name} = $p;
	}
	die "no free loopback port found\n";
}

# --- files -----------------------------------------------------------------

sub write_file {
	my ($path, $text, $mode) = @_;
	$path = "$DIR/$path" unless $path =~ m{^/};
	make_path(dirname($path));
	open my $fh, '>', $path or die "write $path: $!\n";
	binmode $fh;
	print $fh $text;
	close $fh or die "write $path: $!\n";
	chmod $mode, $path if defined $mode;
	return $path;
}

sub read_file {
	my ($path) = @_;
	open my $fh, '<', $path or return undef;
	binmode $fh;
	local $/;
	my $t = <$fh>;
	return $t // '';
}

# Write a pd.conf from a template.  %%TESTDIR%% is the test directory,
# %%PORT_X%% is port('X'), %%NAME%% is $vars{NAME}.  An option file => 'x.conf'
# names the file (default pd.conf).  Returns the absolute path.
sub write_conf {
	my ($tmpl, %vars) = @_;
	my $file = delete $vars{file} // 'pd.conf';
	(my $t = $tmpl) =~ s/%%TESTDIR%%/$DIR/g;
	$t =~ s/%%PORT_(\w+)%%/port($1)/ge;
	$t =~ s/%%(\w+)%%/exists $vars{$1} ? $vars{$1} : die "write_conf: no value for %%$1%%\n"/ge;
	return write_file($file, $t);
}

# --- users -----------------------------------------------------------------

sub b64 { encode_base64($_[0], '') }

# The SASL PLAIN initial response for user/password (empty authzid).
sub sasl_plain {
	my ($user, $pass, $authz) = @_;
	return b64(($authz // '') . "\0$user\0$pass");
}

sub _mkpasswd {
	my ($method, $pw) = @_;
	# the password goes through a pipe (mkpasswd -s), never the command line
	my $pid = open2(my $out, my $in, 'mkpasswd', '-m', $method, '-s');
	print $in "$pw\n";
	close $in;
	my $h = <$out>;
	waitpid($pid, 0);
	die "mkpasswd -m $method failed\n" unless defined $h && $? == 0;
	chomp $h;
	return $h;
}

# "{SCHEME}hash" of a plaintext password, as Dovecot writes it.
sub hash_password {
	my ($scheme, $pw) = @_;
	my $salt = join '', map { chr(int(rand(256))) } 1 .. 8;
	my %h = (
		'PLAIN'        => sub { $pw },
		'CRYPT'        => sub { _mkpasswd('descrypt', $pw) },
		'MD5-CRYPT'    => sub { _mkpasswd('md5crypt', $pw) },
		'SHA256-CRYPT' => sub { _mkpasswd('sha256crypt', $pw) },
		'SHA512-CRYPT' => sub { _mkpasswd('sha512crypt', $pw) },
		'BLF-CRYPT'    => sub { _mkpasswd('bcrypt', $pw) },
		'SSHA256'      => sub { b64(sha256($pw . $salt) . $salt) },
		'SSHA512'      => sub { b64(sha512($pw . $salt) . $salt) },
	);
	my $f = $h{$scheme} or die "hash_password: unknown scheme $scheme\n";
	return "{$scheme}" . $f->();
}

# Create <testdir>/home/NAME owned by uid:gid (no Maildir: pd makes it).
sub make_home {
	my ($name, $uid, $gid) = @_;
	my $h = "$DIR/home/$name";
	make_path($h);
	chmod 0755, "$DIR/home";
	chown $uid, $gid, $h or die "chown $h: $!\n";
	chmod 0700, $h;
	return $h;
}

# Fill in defaults of a user hash: uid/gid 5000, a home under the test dir,
# password hash from {password, scheme}.  Returns the same hash.
sub _user {
	my ($u) = @_;
	$u->{uid} //= 5000;
	$u->{gid} //= $u->{uid};
	$u->{home} //= make_home($u->{user}, $u->{uid}, $u->{gid});
	$u->{scheme} //= 'SHA512-CRYPT';
	$u->{hash} //= hash_password($u->{scheme}, $u->{password});
	$u->{maildir} = $u->{mail} || "$u->{home}/Maildir";
	return $u;
}

# Users as hashes { user, password (plain), scheme, uid, gid, home, mail,
# status, backend, mailhost, quota, extra (raw "k=v ..." text) }.  Writes
# <testdir>/NAME (default users) in Dovecot's passwd-file format; the record
# keys go into the extra field, with the userdb_ prefix when the user hash
# has prefix => 'userdb_'.  Each hash gets home/hash/maildir filled in.
sub make_user_file {
	my @users = @_;
	my $file = 'users';
	$file = shift(@users) unless ref $users[0];
	my $text = '';
	for my $u (map { _user($_) } @users) {
		my $p = $u->{prefix} // '';
		my @extra;
		for my $k (qw(mail status backend mailhost quota)) {
			push @extra, "$p$k=$u->{$k}" if defined $u->{$k};
		}
		push @extra, $u->{extra} if defined $u->{extra};
		$text .= join(':', $u->{user}, $u->{hash}, $u->{uid}, $u->{gid},
			      $u->{gecos} // '', $u->{home}, '', join(' ', @extra)) . "\n";
	}
	return write_file($file, $text, 0600);
}

my $SCHEMA = <<'SQL';
CREATE TABLE users (
  user     TEXT PRIMARY KEY,
  password TEXT NOT NULL,
  uid      INTEGER NOT NULL,
  gid      INTEGER NOT NULL,
  home     TEXT NOT NULL,
  mail     TEXT NOT NULL DEFAULT '',
  mailhost TEXT NOT NULL DEFAULT '',
  backend  TEXT NOT NULL DEFAULT '',
  quota    TEXT NOT NULL DEFAULT '',
  status   TEXT NOT NULL DEFAULT 'active',
  extra    TEXT NOT NULL DEFAULT ''
);
SQL

# The same users in a SQLite database <testdir>/users.db, created with the
# sqlite3 CLI from etc/schema-sqlite.sql (or the schema of DESIGN.md §3
# while that file does not exist yet).  Returns the path.
sub make_user_sqlite {
	my @users = @_;
	my $db = "$DIR/users.db";
	unlink $db;
	my $schema = -f "$REPO/etc/schema-sqlite.sql"
		? "$REPO/etc/schema-sqlite.sql" : write_file('schema.sql', $SCHEMA);
	system('sqlite3', '-bail', $db, ".read $schema") == 0
		or die "sqlite3 $db < $schema failed\n";
	my $dbh = DBI->connect("dbi:SQLite:dbname=$db", '', '',
			       { RaiseError => 1, AutoCommit => 1 });
	for my $u (map { _user($_) } @users) {
		my %row = (user => $u->{user}, password => $u->{hash}, uid => $u->{uid},
			   gid => $u->{gid}, home => $u->{home});
		for my $k (qw(mail mailhost backend quota status extra)) {
			$row{$k} = $u->{$k} if defined $u->{$k};
		}
		my @k = sort keys %row;
		$dbh->do('INSERT INTO users (' . join(',', @k) . ') VALUES ('
			 . join(',', ('?') x @k) . ')', undef, @row{@k});
	}
	$dbh->disconnect;
	chmod 0600, $db;
	return $db;
}

# --- maildirs --------------------------------------------------------------

# Message files of a maildir (cur/ and new/), as absolute paths.
sub maildir_files {
	my ($md) = @_;
	my @f;
	for my $sub (qw(cur new)) {
		opendir(my $dh, "$md/$sub") or next;
		push @f, map { "$md/$sub/$_" } grep { !/^\./ } readdir $dh;
		closedir $dh;
	}
	return sort @f;
}

# The message file of maildir MD whose content contains NEEDLE, or undef.
sub find_message {
	my ($md, $needle) = @_;
	for my $f (maildir_files($md)) {
		my $t = read_file($f) // next;
		return $f if index($t, $needle) >= 0;
	}
	return undef;
}

# Deliver a message into user U's maildir (created if missing) the way a
# delivery agent would: tmp/ then new/, owned by the user.  Returns the path.
sub put_message {
	my ($u, $text) = @_;
	my $md = $u->{maildir};
	for my $d ($md, map { "$md/$_" } qw(cur new tmp)) {
		mkdir $d, 0700 unless -d $d;
		chown $u->{uid}, $u->{gid}, $d;
	}
	my $name = sprintf('%d.M%dP%d_%d.test.local', time, int(rand(1e6)), $$, ++$nfile);
	my $tmp = write_file("$md/tmp/$name", $text, 0600);
	chown $u->{uid}, $u->{gid}, $tmp;
	rename $tmp, "$md/new/$name" or die "rename: $!\n";
	return "$md/new/$name";
}

# --- processes -------------------------------------------------------------

# In a forked child: exec CMD, or report and leave without running the
# parent's END blocks (which would stop the parent's daemons).
sub _child_exec {
	my (@cmd) = @_;
	{ exec { $cmd[0] } @cmd; }
	print STDERR "exec $cmd[0]: $!\n";
	POSIX::_exit(127);
}

# Run pd-forker-stdio -c CONF -p PROTO [ARGS] with one end of a socketpair as
# its stdin and stdout (stderr to <testdir>/stdio.stderr).  Returns the other
# end; in list context (socket, pid).
sub stdio_session {
	my ($conf, $proto, @args) = @_;
	my $bin = bin('pd-forker-stdio');
	socketpair(my $parent, my $child, AF_UNIX, SOCK_STREAM, PF_UNSPEC)
		or die "socketpair: $!\n";
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		close $parent;
		open STDIN, '<&', $child;
		open STDOUT, '>&', $child;
		open STDERR, '>>', "$DIR/stdio.stderr";
		close $child;
		_child_exec($bin, '-c', $conf, '-p', $proto // 'imap', @args);
	}
	close $child;
	push @children, $pid;
	$stdio_pids{$pid} = 1;
	$parent->autoflush(1);
	return wantarray ? ($parent, $pid) : $parent;
}

# Wait up to TIMEOUT seconds for child PID; its wait status, or undef.
sub wait_pid {
	my ($pid, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) {
			@children = grep { $_ != $pid } @children;
			return $exit_status{$pid} = $?;
		}
		return undef if $r < 0;
		sleep 0.02;
	}
	return undef;
}

sub _listening {
	my ($port) = @_;
	my $want = sprintf('0100007F:%04X', $port);
	open my $fh, '<', '/proc/net/tcp' or return 0;
	while (<$fh>) {
		my @f = split ' ';
		return 1 if ($f[1] // '') eq $want && ($f[3] // '') eq '0A';
	}
	return 0;
}

# Start /usr/sbin/inetd -d in the foreground with a private inetd.conf
# holding one line per service { port, proto (imap|pop3), conf, args }:
#   127.0.0.1:PORT stream tcp nowait.500 root .../pd-forker-inet pd-forker-inet -c CONF -p PROTO ARGS
# (args: more pd-forker-inet arguments, e.g. ['--tls'] for a 993/995 service).
# Its debug output goes to <testdir>/inetd.log.  Waits until every port
# listens; inetd is stopped in END.
sub start_inetd {
	my @svc = @_;
	die "start_inetd: already running\n" if $inetd_pid;
	my $bin = bin('pd-forker-inet');
	my $text = '';
	for my $s (@svc) {
		$text .= "127.0.0.1:$s->{port} stream tcp nowait.500 root $bin pd-forker-inet"
			. " -c $s->{conf} -p " . ($s->{proto} // 'imap')
			. join('', map { " $_" } @{$s->{args} // []}) . "\n";
	}
	my $cf = write_file('inetd.conf', $text);
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$DIR/inetd.log";
		open STDERR, '>&', \*STDOUT;
		_child_exec($INETD, '-d', $cf);
	}
	push @children, $pid;
	$inetd_pid = $pid;
	my $end = time + 5;
	for my $s (@svc) {
		sleep 0.05 until _listening($s->{port}) || time > $end;
		die "inetd does not listen on 127.0.0.1:$s->{port}; see $DIR/inetd.log:\n"
			. (read_file("$DIR/inetd.log") // '') unless _listening($s->{port});
	}
	return $pid;
}

# Run a pd program to completion (stdin /dev/null, 10 s limit).  Returns
# { rc => exit code (or 128+signal), out => stdout, err => stderr }.
sub run_pd {
	my ($name, @args) = @_;
	my $bin = $name =~ m{/} ? $name : bin($name);
	my $n = ++$nfile;
	my ($o, $e) = ("$DIR/run$n.out", "$DIR/run$n.err");
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $o;
		open STDERR, '>', $e;
		_child_exec($bin, @args);
	}
	push @children, $pid;
	my $st = wait_pid($pid, 10);
	if (!defined $st) {
		kill 'KILL', $pid;
		$st = wait_pid($pid, 2) // 9;
	}
	return { rc => ($st & 127) ? 128 + ($st & 127) : $st >> 8,
		 out => read_file($o) // '', err => read_file($e) // '' };
}

# --- the log ---------------------------------------------------------------

sub _log_path { "$DIR/pd.log" }

# The current size of pd.log: pass it to wait_for_log to look only at what
# was written after this point.
sub log_mark { -s _log_path() // 0 }

sub log_text {
	my ($from) = @_;
	my $t = read_file(_log_path()) // '';
	return substr($t, $from // 0);
}

# Wait up to TIMEOUT (default 5) seconds for a line of pd.log (after offset
# FROM) matching RE.  Returns the line (list context: all matching lines),
# or nothing.
sub wait_for_log {
	my ($re, $timeout, $from) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		my @m = grep { $_ =~ $re } split /\n/, log_text($from);
		return wantarray ? @m : $m[0] if @m;
		return if time > $end;
		sleep 0.05;
	}
}

# The key=value fields of a log line; quoted values are unquoted.
sub log_fields {
	my ($line) = @_;
	my %f;
	while ($line =~ /(?:^|\s)([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|\S*)/g) {
		my ($k, $v) = ($1, $2);
		$v = $1 if $v =~ /^"(.*)"$/s;
		$f{$k} = $v;
	}
	return \%f;
}

# Wait for a log line with the words WHAT (e.g. "imap login") whose fields
# match WANT: { key => 'exact' | qr/re/ | undef (must be absent) }.  Returns
# the fields (with _line => the line), or undef after TIMEOUT (default 5).
sub wait_for_event {
	my ($what, $want, $timeout, $from) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		for my $l (split /\n/, log_text($from)) {
			# the event words, outside any quoted (client-supplied) value
			(my $bare = $l) =~ s/"(?:[^"\\]|\\.)*"/""/g;
			next unless $bare =~ /(?:^|\s)\Q$what\E(?:\s|$)/;
			my $f = log_fields($l);
			my $ok = 1;
			for my $k (keys %$want) {
				my $w = $want->{$k};
				if (!defined $w) { $ok = 0 if exists $f->{$k}; }
				elsif (!defined $f->{$k}) { $ok = 0; }
				elsif (ref $w eq 'Regexp') { $ok = 0 unless $f->{$k} =~ $w; }
				else { $ok = 0 unless $f->{$k} eq $w; }
			}
			return { %$f, _line => $l } if $ok;
		}
		return undef if time > $end;
		sleep 0.05;
	}
}

# --- processes seen through /proc --------------------------------------------

# { pid, ppid, exe, uid => [real, eff, saved, fs], gid => [...], groups => [...] }
sub proc_info {
	my ($pid) = @_;
	my $st = read_file("/proc/$pid/status") // return undef;
	my %p = (pid => $pid, exe => readlink("/proc/$pid/exe") // '');
	$p{ppid} = $1 if $st =~ /^PPid:\s*(\d+)/m;
	$p{uid} = [split ' ', $1] if $st =~ /^Uid:\s*(.*)$/m;
	$p{gid} = [split ' ', $1] if $st =~ /^Gid:\s*(.*)$/m;
	$p{groups} = [split ' ', $1 // ''] if $st =~ /^Groups:[ \t]*(.*)$/m;
	return \%p;
}

sub _all_procs {
	opendir(my $dh, '/proc') or return ();
	my @p = grep { defined } map { proc_info($_) } grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	return @p;
}

# PID and all its descendants, as proc_info hashes.
sub proc_tree {
	my ($pid) = @_;
	my @all = _all_procs();
	my %kids;
	push @{$kids{$_->{ppid} // 0}}, $_ for @all;
	my ($self) = grep { $_->{pid} == $pid } @all;
	my @out = $self ? ($self) : ();
	my @q = ($pid);
	while (defined(my $p = shift @q)) {
		for my $k (@{$kids{$p} // []}) {
			push @out, $k;
			push @q, $k->{pid};
		}
	}
	return @out;
}

# The processes running EXE (a Dovecot binary) in the tree of PID, waiting
# up to TIMEOUT (default 2) seconds for one to appear: a POP3 backend is
# exec'd just after pd's "+OK Logged in." went out.
sub backend_procs {
	my ($pid, $exe, $timeout) = @_;
	my $end = time + ($timeout // 2);
	while (1) {
		my @b = grep { $_->{exe} eq $exe } proc_tree($pid);
		return @b if @b || time > $end;
		sleep 0.05;
	}
}

# The processes holding the server end of the loopback TCP connection SOCK
# (our client socket): who really serves the client.  IPv4 loopback only, any
# 127.x address on either side.
sub _proc_net_addr {
	my ($ip, $port) = @_;
	return sprintf('%02X%02X%02X%02X:%04X', reverse(split /\./, $ip), $port);
}

sub tcp_peer_procs {
	my ($sock) = @_;
	my ($want_local, $want_rem) = (_proc_net_addr($sock->peerhost, $sock->peerport),
				       _proc_net_addr($sock->sockhost, $sock->sockport));
	my $inode;
	for (split /\n/, read_file('/proc/net/tcp') // '') {
		my @f = split ' ';
		$inode = $f[9] if ($f[1] // '') eq $want_local && ($f[2] // '') eq $want_rem;
	}
	return () unless $inode;
	my @out;
	opendir(my $dh, '/proc') or return ();
	for my $pid (grep { /^\d+$/ } readdir $dh) {
		opendir(my $fd, "/proc/$pid/fd") or next;
		my $has = grep { (readlink("/proc/$pid/fd/$_") // '') eq "socket:[$inode]" } readdir $fd;
		closedir $fd;
		push @out, proc_info($pid) if $has;
	}
	closedir $dh;
	return grep { defined } @out;
}

# --- TLS ---------------------------------------------------------------------

my $CERTS;

sub _openssl {
	my (@args) = @_;
	my $log = "$DIR/certs/openssl.log";
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log;
		open STDERR, '>&', \*STDOUT;
		_child_exec(_which('openssl'), @args);
	}
	waitpid($pid, 0);
	die "openssl @args failed:\n" . (read_file($log) // '') if $?;
}

# A private key (EC P-256: instant to make) at PATH.
sub _key {
	my ($path) = @_;
	_openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
		 '-out', $path);
	chmod 0600, $path;
	return $path;
}

# A certificate NAME.pem (key NAME.key) for subject CN, signed by the CA
# ISSUER (a name made here before) or self-signed when ISSUER is undef.
# EXT: v3_ca or v3_leaf of the private openssl.cnf; SAN for a leaf.
sub _cert {
	my ($d, $name, $cn, $issuer, $ext, $san) = @_;
	my $key = _key("$d/$name.key");
	local $ENV{PD_SAN} = $san // 'DNS:unused.invalid';
	if (!defined $issuer) {
		_openssl('req', '-x509', '-new', '-config', "$d/openssl.cnf", '-key', $key,
			 '-subj', "/CN=$cn", '-days', '3', '-set_serial', int(rand(1e9)) + 1,
			 '-extensions', $ext, '-out', "$d/$name.pem");
	} else {
		_openssl('req', '-new', '-config', "$d/openssl.cnf", '-key', $key,
			 '-subj', "/CN=$cn", '-out', "$d/$name.csr");
		_openssl('x509', '-req', '-in', "$d/$name.csr", '-CA', "$d/$issuer.pem",
			 '-CAkey', "$d/$issuer.key", '-set_serial', int(rand(1e9)) + 1,
			 '-days', '3', '-extfile', "$d/openssl.cnf", '-extensions', $ext,
			 '-out', "$d/$name.pem");
	}
	return "$d/$name.pem";
}

# Throw-away certificates in <testdir>/certs, made once per test file with
# the openssl CLI.  Returns
#   { dir, ca => the test CA (what clients trust), ca_key,
#     other_ca => a second CA that signed none of pd's certificates,
#     cert, key => the server certificate (CN localhost, SAN DNS:localhost
#       and IP:127.0.0.1) and its key, full => both in one PEM,
#     stray_key => a key that matches no certificate,
#     garbage => a file with no PEM in it,
#     sni => { name => 'mail.example.test', cert, key, cn }: for a [tls NAME],
#     sni2 => { name => 'pop.example.test', pem, cn }: leaf, intermediate CA
#       and key in one file, in sni_dir => <certs>/sni }.
sub make_certs {
	return $CERTS if $CERTS;
	my $d = "$DIR/certs";
	make_path("$d/sni");
	write_file("$d/openssl.cnf", <<'CNF');
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::PD_SAN
CNF
	_cert($d, 'ca', 'pd test CA', undef, 'v3_ca');
	_cert($d, 'other-ca', 'pd other CA', undef, 'v3_ca');
	_cert($d, 'server', 'localhost', 'ca', 'v3_leaf', 'DNS:localhost,IP:127.0.0.1');
	_cert($d, 'sni', 'mail.example.test', 'ca', 'v3_leaf', 'DNS:mail.example.test');
	_cert($d, 'inter', 'pd test intermediate CA', 'ca', 'v3_ca');
	_cert($d, 'sni2', 'pop.example.test', 'inter', 'v3_leaf', 'DNS:pop.example.test');
	_key("$d/stray.key");
	write_file("$d/server-full.pem", read_file("$d/server.pem") . read_file("$d/server.key"), 0600);
	write_file("$d/sni/pop.example.test.pem", read_file("$d/sni2.pem") . read_file("$d/inter.pem")
		   . read_file("$d/sni2.key"), 0600);
	write_file("$d/garbage.pem", "this is not a certificate\n");
	return $CERTS = {
		dir => $d, ca => "$d/ca.pem", ca_key => "$d/ca.key", other_ca => "$d/other-ca.pem",
		cert => "$d/server.pem", key => "$d/server.key", full => "$d/server-full.pem",
		stray_key => "$d/stray.key", garbage => "$d/garbage.pem",
		sni => { name => 'mail.example.test', cn => 'mail.example.test',
			 cert => "$d/sni.pem", key => "$d/sni.key" },
		sni2 => { name => 'pop.example.test', cn => 'pop.example.test',
			  pem => "$d/sni/pop.example.test.pem" },
		sni_dir => "$d/sni",
	};
}

# IO::Socket::SSL options of a verifying client: trusts CA (default the test
# CA), wants the certificate to be for NAME (default localhost), sends SNI
# only when SNI is given, VERSION (e.g. 'TLSv1_2') caps the protocol.  More
# SSL_* options may follow.
sub tls_options {
	my (%o) = @_;
	my @opt = (
		SSL_ca_file => $o{ca} // make_certs()->{ca},
		SSL_verify_mode => 1,		# SSL_VERIFY_PEER
		SSL_verifycn_scheme => 'default',
		SSL_verifycn_name => $o{name} // 'localhost',
		SSL_hostname => $o{sni} // '',	# '' sends no SNI
	);
	push @opt, SSL_version => $o{version} if defined $o{version};
	push @opt, map { $_ => $o{$_} } grep { /^SSL_/ } sort keys %o;
	return @opt;
}

sub _ssl_error {
	no warnings 'once';
	return ($IO::Socket::SSL::SSL_ERROR || "$!" || 'unknown TLS error') . '';
}

# A TLS connection to 127.0.0.1:PORT (from LOCAL_ADDR if given) with the
# tls_options of %o.  Returns the IO::Socket::SSL, or undef; in list context
# (socket, error text).
sub tls_connect {
	my (%o) = @_;
	my $port = delete $o{port} // die "tls_connect: no port\n";
	my @local = defined $o{local_addr} ? (LocalAddr => delete $o{local_addr}) : ();
	require IO::Socket::SSL;
	my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port, @local,
				     Proto => 'tcp', Timeout => $o{timeout} // 10,
				     tls_options(%o));
	my $err = $s ? '' : _ssl_error();
	return wantarray ? ($s, $err) : $s;
}

# The client side of a TLS handshake on the connected socket SOCK (a
# stdio_session socket for "pd-forker-stdio --tls", or a TCP socket after
# STARTTLS).  Returns the IO::Socket::SSL, or undef; in list context
# (socket, error text).
sub tls_upgrade {
	my ($sock, %o) = @_;
	require IO::Socket::SSL;
	my $s = IO::Socket::SSL->start_SSL($sock, tls_options(%o), Timeout => $o{timeout} // 10);
	my $err = $s ? '' : _ssl_error();
	return wantarray ? ($s, $err) : $s;
}

# Run any program CMD to completion, with STDIN (text) as its standard input
# and a time limit (default 10 s).  Returns { rc, out, err } as run_pd does.
sub run_cmd {
	my ($o, @cmd) = @_;
	my $n = ++$nfile;
	my ($i, $out, $e) = ("$DIR/cmd$n.in", "$DIR/cmd$n.out", "$DIR/cmd$n.err");
	write_file($i, $o->{stdin} // '');
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', $i;
		open STDOUT, '>', $out;
		open STDERR, '>', $e;
		@ENV{keys %{$o->{env}}} = values %{$o->{env}} if $o->{env};
		_child_exec(@cmd);
	}
	push @children, $pid;
	my $st = wait_pid($pid, $o->{timeout} // 10);
	if (!defined $st) {
		kill 'KILL', $pid;
		$st = wait_pid($pid, 2) // 9;
	}
	unlink $i;
	return { rc => ($st & 127) ? 128 + ($st & 127) : $st >> 8,
		 out => read_file($out) // '', err => read_file($e) // '' };
}

# Certificates for a test server (slapd, MariaDB) in DIR, made once per
# DIR: { dir, ca => the CA that signed the server certificate, other_ca =>
# a CA that signed nothing, cert/key => CN localhost, SAN DNS:localhost and
# IP:127.0.0.1 }.  LABEL names the CAs.
my %server_certs;
sub server_certs {
	my ($d, $label) = @_;
	return $server_certs{$d} if $server_certs{$d};
	make_path($d);
	my $openssl = sub {
		my $r = run_cmd({}, 'openssl', @_);
		die "openssl @_ failed:\n$r->{out}$r->{err}" if $r->{rc};
	};
	my @key = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes');
	for my $ca (qw(ca other-ca)) {
		$openssl->('req', '-x509', @key, '-keyout', "$d/$ca.key", '-out', "$d/$ca.pem",
			   '-subj', "/CN=pd $label test $ca", '-days', '3',
			   '-addext', 'basicConstraints=critical,CA:TRUE',
			   '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	}
	$openssl->('req', '-x509', @key, '-keyout', "$d/server.key", '-out', "$d/server.pem",
		   '-CA', "$d/ca.pem", '-CAkey', "$d/ca.key", '-subj', '/CN=localhost', '-days', '3',
		   '-addext', 'basicConstraints=critical,CA:FALSE',
		   '-addext', 'keyUsage=critical,digitalSignature',
		   '-addext', 'extendedKeyUsage=serverAuth',
		   '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
	chmod 0600, map { "$d/$_.key" } qw(server ca other-ca);
	return $server_certs{$d} = { dir => $d, ca => "$d/ca.pem", other_ca => "$d/other-ca.pem",
				     cert => "$d/server.pem", key => "$d/server.key" };
}

# The environment of process PID, as a hash (empty if it is gone).
sub proc_env {
	my ($pid) = @_;
	my $t = read_file("/proc/$pid/environ") // return {};
	return { map { /^([^=]*)=(.*)$/s ? ($1 => $2) : () } split /\0/, $t };
}

# A shell script standing in for the backend binary REAL (a Dovecot imap or
# pop3): it writes its environment to <testdir>/backend-env/<its pid> and
# execs REAL, which keeps that pid.  (Dovecot overwrites its own environ
# area with its process title: /proc/PID/environ cannot tell.)  Returns the
# script's path, for [backend dovecot] imap/pop3.
sub env_recorder {
	my ($real) = @_;
	(my $name = $real) =~ s{.*/}{};
	my $dir = "$DIR/backend-env";
	make_path($dir);
	chmod 01777, $dir;	# the backend runs as the mail user
	return write_file("bin/record-env-$name",
			  "#!/bin/sh\nenv > $dir/\$\$\nexec $real \"\$@\"\n", 0755);
}

# The environment an env_recorder backend with pid PID started with, as a
# hash; {} if there is none (after TIMEOUT seconds, default 2).
sub backend_env {
	my ($pid, $timeout) = @_;
	my $f = "$DIR/backend-env/$pid";
	my $end = time + ($timeout // 2);
	sleep 0.05 until -s $f || time > $end;
	my $t = read_file($f) // return {};
	return { map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $t };
}

# The end of every test file: the secrets (plaintext passwords and their
# SASL encodings) must not appear in any log, no pd process may have been
# killed by a signal, sanitizers must have nothing to report.  Then
# done_testing.
sub finish {
	my (@secrets) = @_;
	my %logs = map { $_ => read_file("$DIR/$_") // '' }
		qw(pd.log stdio.stderr inetd.log);
	for my $s (@secrets) {
		my @where = grep { index($logs{$_}, $s) >= 0 } sort keys %logs;
		ok(!@where, "secret '$s' is in no log") or diag("found in: @where");
	}
	# stdio sessions still running are stopped here; a signal death before
	# that (SIGSEGV, SIGABRT) is a crash.
	my @crashed;
	for my $pid (sort keys %stdio_pids) {
		my $st = $exit_status{$pid} // wait_pid($pid, 0.01);
		if (!defined $st) {
			kill 'TERM', $pid;
			wait_pid($pid, 2) // (kill('KILL', $pid), wait_pid($pid, 2));
			next;
		}
		push @crashed, "pid $pid: signal " . ($st & 127) if $st & 127;
	}
	# openbsd-inetd -d prints the wait status in hex: "123 reaped, status 4e00"
	while ($logs{'inetd.log'} =~ /^(\d+) reaped, status (?:0x)?([0-9a-fA-F]+)/mg) {
		my ($pid, $st) = ($1, hex($2));
		push @crashed, "inetd child $pid: signal " . ($st & 127) if $st & 127;
	}
	ok(!@crashed, 'no pd process died by a signal') or diag(join "\n", @crashed);
	opendir(my $dh, $DIR);
	my @san = grep { /^(asan|ubsan)\./ } readdir $dh;
	closedir $dh;
	my @in_logs = grep { $logs{$_} =~ /ERROR: (Address|Leak)Sanitizer|runtime error:/ } sort keys %logs;
	ok(!@san && !@in_logs, 'no sanitizer reports')
		or diag(join "\n", (map { read_file("$DIR/$_") } @san), map { "in $_" } @in_logs);
	done_testing();
}

END {
	local $?;
	if ($inetd_pid) {
		kill 'TERM', $inetd_pid;
		wait_pid($inetd_pid, 3) // (kill('KILL', $inetd_pid), wait_pid($inetd_pid, 2));
	}
	for my $pid (@children) {
		kill 'TERM', $pid;
	}
	for my $pid (@children) {
		wait_pid($pid, 2) // (kill('KILL', $pid), wait_pid($pid, 1));
	}
	if (!Test::More->builder->is_passing) {
		for my $f (qw(pd.log stdio.stderr)) {
			my @l = split /\n/, read_file("$DIR/$f") // '';
			next unless @l;
			splice(@l, 0, @l - 60) if @l > 60;
			diag("$f (last lines):\n" . join('', map { "  $_\n" } @l));
		}
	}
}

1;
