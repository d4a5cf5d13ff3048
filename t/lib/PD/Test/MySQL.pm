# SPDX-License-Identifier: MIT
#
# PD::Test::MySQL - a private MariaDB server for the mysql auth driver tests
# (t/1xx-mysql*.t): a data directory made with mariadb-install-db, mariadbd
# in the foreground as a child of the test (TCP on loopback, a Unix socket,
# TLS with test certificates, a general query log), start/stop/restart,
# SQL run as root through the mariadb CLI, the mail.users table of
# etc/schema-mysql.sql, pd users as rows, and the [auth] section that points
# pd's driver at it.
#
#   use PD::Test qw(:all);
#   use PD::Test::MySQL qw(:all);
#   mysql_start();                       # TCP port('MYSQL') and mysql_socket()
#   mysql_add_users($u, ...);            # hashes as for PD::Test::make_user_file
#   my $conf = write_conf("...\n" . mysql_auth_section());
#   mysql_stop(); mysql_start();         # same data, same port
#
# Accounts: root (no password, socket only for the CLI); pd@'127.0.0.%' and
# pd@localhost with SELECT on mail.* (mysql_pw_file() holds the password);
# pdtls@'127.0.0.%' the same but REQUIRE SSL.  mariadbd listens on
# 127.0.0.1 and 127.0.0.2 (a name its certificate does not have).
#
# Environment: PD_BIN_DIR, PD_MODULE_DIR (default: lib/pd next to
# PD_BIN_DIR's directory).  A missing mariadbd, mariadb-install-db, mariadb
# CLI or pd_auth_mysql.so is a BAIL_OUT naming it.

package PD::Test::MySQL;

use strict;
use warnings;

use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(testdir repo_dir port write_file read_file make_home hash_password
		 run_cmd server_certs);

our @EXPORT_OK = qw(
	module_dir mysql_tls mysql_start mysql_stop mysql_pid mysql_socket mysql_sql
	mysql_quote mysql_add_users mysql_user_row mysql_auth_section mysql_pw_file
	mysql_error_log mysql_general_mark mysql_general_lines
	$MYSQL_DB $MYSQL_USER $MYSQL_TLS_USER
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $MARIADBD = '/usr/sbin/mariadbd';
our $INSTALL_DB = '/usr/bin/mariadb-install-db';
our $CLI = '/usr/bin/mariadb';
our $MYSQL_DB = 'mail';
our $MYSQL_USER = 'pd';
our $MYSQL_TLS_USER = 'pdtls';

my $REPO = repo_dir();
my $BIN_DIR = $ENV{PD_BIN_DIR} // "$REPO/build/bin";
my $MODULE_DIR = $ENV{PD_MODULE_DIR} // dirname($BIN_DIR) . '/lib/pd';
my $SCHEMA = "$REPO/etc/schema-mysql.sql";

BAIL_OUT("missing component: $MARIADBD (package mariadb-server)") unless -x $MARIADBD;
BAIL_OUT("missing component: $INSTALL_DB (package mariadb-server)") unless -x $INSTALL_DB;
BAIL_OUT("missing component: $CLI (package mariadb-client)") unless -x $CLI;
BAIL_OUT("missing component: $SCHEMA") unless -f $SCHEMA;
BAIL_OUT("missing component: $MODULE_DIR/pd_auth_mysql.so (run make, or set PD_MODULE_DIR)")
	unless -f "$MODULE_DIR/pd_auth_mysql.so";

my $DIR = testdir() . '/mysql';
my $PW = 'Mysql-pd-pw-' . int(rand(1e9));
my ($pid, $configured, $TLS);

sub module_dir { $MODULE_DIR }
sub mysql_pid { $pid }
sub mysql_socket { "$DIR/mysql.sock" }
sub mysql_error_log { read_file("$DIR/error.log") // '' }

# --- running programs --------------------------------------------------------


sub _run {
	my ($o, @cmd) = @_;
	return run_cmd({ timeout => 20, %$o }, @cmd);
}

# --- TLS ---------------------------------------------------------------------

sub mysql_tls {
	return $TLS //= server_certs("$DIR/tls", 'mysql');
}

# --- the server --------------------------------------------------------------

sub _configure {
	return if $configured;
	make_path($DIR);
	mysql_tls();
	my $r = _run({ timeout => 60 }, $INSTALL_DB, '--no-defaults', "--datadir=$DIR/db",
		     '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db',
		     '--skip-name-resolve');
	die "mariadb-install-db failed (rc $r->{rc}):\n$r->{out}$r->{err}" if $r->{rc};
	$configured = 1;
	_start();
	my $schema = read_file($SCHEMA);
	mysql_sql(<<"EOF");
CREATE DATABASE $MYSQL_DB;
USE $MYSQL_DB;
$schema
CREATE USER '$MYSQL_USER'\@'127.0.0.%' IDENTIFIED BY '$PW';
CREATE USER '$MYSQL_USER'\@'localhost' IDENTIFIED BY '$PW';
CREATE USER '$MYSQL_TLS_USER'\@'127.0.0.%' IDENTIFIED BY '$PW' REQUIRE SSL;
GRANT SELECT ON $MYSQL_DB.* TO '$MYSQL_USER'\@'127.0.0.%';
GRANT SELECT ON $MYSQL_DB.* TO '$MYSQL_USER'\@'localhost';
GRANT SELECT ON $MYSQL_DB.* TO '$MYSQL_TLS_USER'\@'127.0.0.%';
EOF
}

sub _listening {
	my ($port, $ip) = @_;
	my $want = sprintf('%s:%04X', ($ip // 1) == 2 ? '0200007F' : '0100007F', $port);
	open my $fh, '<', '/proc/net/tcp' or return 0;
	while (<$fh>) {
		my @f = split ' ';
		return 1 if ($f[1] // '') eq $want && ($f[3] // '') eq '0A';
	}
	return 0;
}

sub _start {
	die "mariadbd is already running\n" if $pid;
	my $tls = mysql_tls();
	my $port = port('MYSQL');
	my @cmd = ($MARIADBD, '--no-defaults', "--datadir=$DIR/db", '--user=root',
		   "--socket=$DIR/mysql.sock", "--port=$port", '--bind-address=127.0.0.1,127.0.0.2',
		   "--pid-file=$DIR/mariadbd.pid", "--log-error=$DIR/error.log",
		   '--skip-name-resolve', '--innodb-buffer-pool-size=16M',
		   '--general-log=1', "--general-log-file=$DIR/general.log",
		   "--ssl-ca=$tls->{ca}", "--ssl-cert=$tls->{cert}", "--ssl-key=$tls->{key}");
	my $p = fork // die "fork: $!\n";
	if ($p == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$DIR/mariadbd.out";
		open STDERR, '>&', \*STDOUT;
		{ exec { $cmd[0] } @cmd; }
		print STDERR "exec $cmd[0]: $!\n";
		POSIX::_exit(127);
	}
	$pid = $p;
	my $end = time + 30;
	while (time < $end) {
		if (waitpid($p, WNOHANG) == $p) {
			$pid = undef;
			die "mariadbd exited at once (status $?):\n" . mysql_error_log()
				. (read_file("$DIR/mariadbd.out") // '');
		}
		if (-S mysql_socket() && _listening($port) && _listening($port, 2)) {
			my $r = _run({ stdin => "SELECT 1;\n" }, $CLI, '--no-defaults', '-S', mysql_socket(),
				     '-uroot', '--batch');
			return $p if $r->{rc} == 0;
		}
		sleep 0.05;
	}
	die "mariadbd does not answer:\n" . mysql_error_log();
}

# Start mariadbd (the first call makes the data directory, certificates,
# the mail database with the users table and the accounts).  Its pid.
sub mysql_start {
	if (!$configured) {
		_configure();
		return $pid;
	}
	return _start();
}

# Stop mariadbd (SIGTERM: a clean shutdown; SIGKILL after 15 s).
sub mysql_stop {
	return unless $pid;
	kill 'TERM', $pid;
	my $end = time + 15;
	while (waitpid($pid, WNOHANG) != $pid) {
		if (time > $end) {
			kill 'KILL', $pid;
			waitpid($pid, 0);
			last;
		}
		sleep 0.02;
	}
	$pid = undef;
	$end = time + 5;
	sleep 0.02 while _listening(port('MYSQL')) && time < $end;
}

# Run SQL as root over the socket (database mail once it exists); the
# tab-separated output without column names.  Dies on an error.
sub mysql_sql {
	my ($sql) = @_;
	my @db = $configured && -d "$DIR/db/$MYSQL_DB" ? ('-D', $MYSQL_DB) : ();
	my $r = _run({ stdin => $sql }, $CLI, '--no-defaults', '-S', mysql_socket(), '-uroot',
		     '--default-character-set=utf8mb4', '--batch', '--skip-column-names', @db);
	die "mariadb failed (rc $r->{rc}): $r->{err}\nSQL:\n$sql" if $r->{rc};
	return $r->{out};
}

# A string as an SQL literal.
sub mysql_quote {
	my ($s) = @_;
	return 'NULL' unless defined $s;
	$s =~ s/\\/\\\\/g;
	$s =~ s/'/\\'/g;
	$s =~ s/\0/\\0/g;
	return "'$s'";
}

# Fill in user U's defaults (uid/gid 5000, a home made under the test dir,
# hash, maildir) like make_user_file; returns the column => value hash of
# its users row.
sub mysql_user_row {
	my ($u) = @_;
	$u->{uid} //= 5000;
	$u->{gid} //= $u->{uid};
	$u->{home} //= make_home($u->{home_name} // $u->{user}, $u->{uid}, $u->{gid});
	$u->{scheme} //= 'SHA512-CRYPT';
	$u->{hash} //= hash_password($u->{scheme}, $u->{password});
	$u->{maildir} = $u->{mail} || "$u->{home}/Maildir";
	my %row = (user => $u->{user}, password => $u->{hash}, uid => $u->{uid}, gid => $u->{gid},
		   home => $u->{home});
	for my $k (qw(mail mailhost backend quota status extra)) {
		$row{$k} = $u->{$k} if defined $u->{$k};
	}
	return \%row;
}

# INSERT users (hashes as for make_user_file) into mail.users (or TABLE when
# the first argument is a table name).
sub mysql_add_users {
	my @users = @_;
	my $table = ref $users[0] ? 'users' : shift @users;
	my $sql = '';
	for my $u (@users) {
		my $row = mysql_user_row($u);
		my @k = sort keys %$row;
		$sql .= "INSERT INTO $table (" . join(', ', map { "`$_`" } @k) . ') VALUES ('
			. join(', ', map { mysql_quote($row->{$_}) } @k) . ");\n";
	}
	mysql_sql($sql);
}

# pd's database password in a file of mode MODE (default 0600).
sub mysql_pw_file {
	my ($name, $mode, $pw) = @_;
	return write_file($name // 'mysql-pd.pw', ($pw // $PW) . "\n", $mode // 0600);
}

# The text of an [auth] section for the mysql driver: module_dir, TCP to
# 127.0.0.1:port('MYSQL'), database mail, user pd, its password file.
# Options override or add keys (undef leaves a key out).
sub mysql_auth_section {
	my (%o) = @_;
	my %k = (
		driver => 'mysql',
		module_dir => $MODULE_DIR,
		host => '127.0.0.1',
		port => port('MYSQL'),
		database => $MYSQL_DB,
		user => $MYSQL_USER,
		password_file => exists $o{password_file} ? undef : mysql_pw_file(),
		timeout => 3,
		%o,
	);
	my @order = qw(driver module_dir host port socket database user password_file tls ca
		       timeout query);
	my %seen;
	my $t = "[auth]\n";
	for my $key (@order, sort keys %k) {
		next if $seen{$key}++ || !defined $k{$key};
		$t .= "$key = $k{$key}\n";
	}
	return $t;
}

# The general query log: its size now, and its lines after MARK matching RE.
sub mysql_general_mark { -s "$DIR/general.log" // 0 }

sub mysql_general_lines {
	my ($re, $mark, $timeout) = @_;
	my $end = time + ($timeout // 2);
	while (1) {
		my $t = read_file("$DIR/general.log") // '';
		my @l = grep { $_ =~ $re } split /\n/, substr($t, $mark // 0);
		return @l if @l || time > $end;
		sleep 0.05;
	}
}

# Only the test process stops the server, not a child that never exec'd.
my $OWNER = $$;

END {
	local $?;
	mysql_stop() if $pid && $$ == $OWNER;
}

1;
