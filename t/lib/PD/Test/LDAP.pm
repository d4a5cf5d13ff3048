# SPDX-License-Identifier: MIT
#
# PD::Test::LDAP - a private OpenLDAP slapd for the ldap auth driver tests
# (t/1xx-ldap*.t): its configuration, TLS certificates, start/stop/restart,
# entries added with ldapadd, pd users as LDAP entries, and the [auth]
# section that points pd's driver at it.
#
#   use PD::Test qw(:all);
#   use PD::Test::LDAP qw(:all);
#   slapd_start();                          # ldap:// on port('LDAP'), ldaps:// on port('LDAPS')
#   ldap_add(ldap_user_entry($u));          # $u as for PD::Test::make_user_file
#   my $conf = write_conf("...\n" . ldap_auth_section(base => $LDAP_PEOPLE));
#   slapd_stop(); slapd_start();            # same data, same ports
#
# slapd runs in the foreground (-d stats) as a child of the test, listening
# on loopback only (ldap:// and ldaps:// on 127.0.0.1, ldaps:// on 127.0.0.2
# too, a name its certificate does not have); its database, configuration and log live in
# <testdir>/ldap.  The log (slapd.log) has slapd's "stats" lines: every
# connection, TLS handshake, BIND dn and SRCH filter, so a test can see what
# pd really sent (slapd_mark, slapd_lines).  Two databases:
#   dc=example,dc=org  the service DN cn=pd,dc=example,dc=org may read
#                      userPassword (pd compares the hash itself)
#   dc=bind,dc=test    nobody may read userPassword (auth only: the
#                      password can be checked by binding, auth_bind = yes)
# Each has ou=people; the root DNs are cn=admin,<suffix>.  pw-sha2 is
# loaded, so slapd itself checks {SSHA256} passwords on a bind as well.
#
# Environment: PD_BIN_DIR, PD_MODULE_DIR (default: lib/pd next to
# PD_BIN_DIR's directory, i.e. <build>/lib/pd).  A missing slapd, ldap-utils
# or pd_auth_ldap.so is a BAIL_OUT naming it.

package PD::Test::LDAP;

use strict;
use warnings;

use Digest::SHA qw(sha1);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use PD::Test qw(testdir repo_dir port write_file read_file make_home hash_password
		 run_cmd server_certs);

our @EXPORT_OK = qw(
	module_dir ldap_tls slapd_start slapd_stop slapd_pause slapd_resume slapd_pid slapd_log slapd_mark slapd_lines
	ldap_add ldap_modify ldap_search ldap_user_entry ldap_auth_section
	ldap_service_pw_file ldap_uri ldaps_uri ldaps_alt_uri
	$LDAP_SUFFIX $LDAP_PEOPLE $LDAP_BIND_SUFFIX $LDAP_BIND_PEOPLE $LDAP_SERVICE_DN
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $SLAPD = '/usr/sbin/slapd';
our $SCHEMA_DIR = '/etc/ldap/schema';
our $MODULE_PATH = '/usr/lib/ldap';
our $LDAP_SUFFIX = 'dc=example,dc=org';
our $LDAP_PEOPLE = "ou=people,$LDAP_SUFFIX";
our $LDAP_BIND_SUFFIX = 'dc=bind,dc=test';
our $LDAP_BIND_PEOPLE = "ou=people,$LDAP_BIND_SUFFIX";
our $LDAP_SERVICE_DN = "cn=pd,$LDAP_SUFFIX";

my $REPO = repo_dir();
my $BIN_DIR = $ENV{PD_BIN_DIR} // "$REPO/build/bin";
my $MODULE_DIR = $ENV{PD_MODULE_DIR} // dirname($BIN_DIR) . '/lib/pd';

# --- load-time checks ------------------------------------------------------

BAIL_OUT("missing component: $SLAPD (package slapd)") unless -x $SLAPD;
for my $t (qw(ldapadd ldapmodify ldapsearch)) {
	BAIL_OUT("missing component: /usr/bin/$t (package ldap-utils)") unless -x "/usr/bin/$t";
}
for my $m (qw(back_mdb pw-sha2)) {
	BAIL_OUT("missing component: $MODULE_PATH/$m.so (package slapd)")
		unless -e "$MODULE_PATH/$m.so";
}
for my $s (qw(core cosine nis inetorgperson misc)) {
	BAIL_OUT("missing component: $SCHEMA_DIR/$s.schema (package slapd)")
		unless -f "$SCHEMA_DIR/$s.schema";
}
BAIL_OUT("missing component: $REPO/etc/pd.schema") unless -f "$REPO/etc/pd.schema";
BAIL_OUT("missing component: $MODULE_DIR/pd_auth_ldap.so (run make, or set PD_MODULE_DIR)")
	unless -f "$MODULE_DIR/pd_auth_ldap.so";

my $DIR = testdir() . '/ldap';
my $ROOTPW = 'Ldap-root-pw-' . int(rand(1e9));
my $SERVICE_PW = 'Ldap-svc-pw-' . int(rand(1e9));
my ($slapd_pid, $configured, $TLS);

sub module_dir { $MODULE_DIR }
sub slapd_pid { $slapd_pid }
sub slapd_log { read_file("$DIR/slapd.log") // '' }

# The size of slapd.log now: for slapd_lines.
sub slapd_mark { -s "$DIR/slapd.log" // 0 }

# The lines of slapd.log after MARK that match RE (waiting up to TIMEOUT,
# default 2 s, for at least one).
sub slapd_lines {
	my ($re, $mark, $timeout) = @_;
	my $end = time + ($timeout // 2);
	while (1) {
		my @l = grep { $_ =~ $re } split /\n/, substr(slapd_log(), $mark // 0);
		return @l if @l || time > $end;
		sleep 0.05;
	}
}
sub ldap_uri { 'ldap://127.0.0.1:' . port('LDAP') . '/' }
sub ldaps_uri { 'ldaps://127.0.0.1:' . port('LDAPS') . '/' }

# ldaps:// on 127.0.0.2, an address slapd's certificate does not name.
sub ldaps_alt_uri { 'ldaps://127.0.0.2:' . port('LDAPS') . '/' }

# --- running programs --------------------------------------------------------


# Run CMD with STDIN text, a time limit, LDAPNOINIT (no ldap.conf/ldaprc of
# the host).  { rc, out, err }.
sub _run {
	my ($o, @cmd) = @_;
	return run_cmd({ env => { LDAPNOINIT => 1 }, %$o }, @cmd);
}

# --- TLS ---------------------------------------------------------------------

sub ldap_tls {
	return $TLS //= server_certs("$DIR/tls", 'ldap');
}

# --- slapd -------------------------------------------------------------------

sub _ssha {
	my ($pw) = @_;
	my $salt = join '', map { chr(int(rand(256))) } 1 .. 8;
	return '{SSHA}' . encode_base64(sha1($pw . $salt) . $salt, '');
}

sub _configure {
	return if $configured;
	my $tls = ldap_tls();
	make_path("$DIR/db-example", "$DIR/db-bind");
	my $schemas = join '', map { "include $SCHEMA_DIR/$_.schema\n" }
		qw(core cosine nis inetorgperson misc);
	write_file("$DIR/slapd.conf", <<"EOF", 0600);
$schemas
include $REPO/etc/pd.schema
modulepath $MODULE_PATH
moduleload back_mdb
moduleload pw-sha2
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
TLSCACertificateFile $tls->{ca}
TLSCertificateFile $tls->{cert}
TLSCertificateKeyFile $tls->{key}
sizelimit 100

# the service DN may read password hashes here
database mdb
suffix "$LDAP_SUFFIX"
rootdn "cn=admin,$LDAP_SUFFIX"
rootpw $ROOTPW
directory $DIR/db-example
maxsize 33554432
index objectClass,uid eq
access to attrs=userPassword
	by dn.exact="$LDAP_SERVICE_DN" read
	by self auth
	by anonymous auth
	by * none
access to * by * read

# nobody reads userPassword: only a bind can check it
database mdb
suffix "$LDAP_BIND_SUFFIX"
rootdn "cn=admin,$LDAP_BIND_SUFFIX"
rootpw $ROOTPW
directory $DIR/db-bind
maxsize 33554432
index objectClass,uid eq
access to attrs=userPassword
	by self auth
	by anonymous auth
	by * none
access to * by * read
EOF
	$configured = 1;
	_start();
	ldap_add(<<"EOF");
dn: $LDAP_SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: pd test

dn: $LDAP_PEOPLE
objectClass: organizationalUnit
ou: people

dn: $LDAP_SERVICE_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: pd
userPassword: @{[_ssha($SERVICE_PW)]}
EOF
	ldap_add(<<"EOF");
dn: $LDAP_BIND_SUFFIX
objectClass: dcObject
objectClass: organization
dc: bind
o: pd test auth_bind

dn: $LDAP_BIND_PEOPLE
objectClass: organizationalUnit
ou: people
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
	die "slapd is already running\n" if $slapd_pid;
	my ($p1, $p2) = (port('LDAP'), port('LDAPS'));
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$DIR/slapd.log";
		open STDERR, '>&', \*STDOUT;
		my @cmd = ($SLAPD, '-f', "$DIR/slapd.conf", '-h',
			   "ldap://127.0.0.1:$p1/ ldaps://127.0.0.1:$p2/ ldaps://127.0.0.2:$p2/",
			   '-d', 'stats');
		{ exec { $cmd[0] } @cmd; }
		print STDERR "exec $SLAPD: $!\n";
		POSIX::_exit(127);
	}
	$slapd_pid = $pid;
	my $end = time + 15;
	while (time < $end) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$slapd_pid = undef;
			die "slapd exited at once (status $?); slapd.log:\n" . slapd_log();
		}
		if (_listening($p1) && _listening($p2) && _listening($p2, 2)) {
			my $r = _run({}, 'ldapsearch', '-x', '-H', ldap_uri(), '-b', '', '-s', 'base',
				     'namingContexts');
			return $pid if $r->{rc} == 0;
		}
		sleep 0.05;
	}
	die "slapd does not answer on 127.0.0.1:$p1; slapd.log:\n" . slapd_log();
}

# Start slapd (the first call configures it, generates the certificates and
# adds the suffixes, ou=people and the service DN).  Returns its pid.
sub slapd_start {
	if (!$configured) {
		_configure();
		return $slapd_pid;
	}
	return _start();
}

# Stop slapd (SIGTERM, then SIGKILL) and wait until its ports are closed.
sub slapd_stop {
	return unless $slapd_pid;
	kill 'CONT', $slapd_pid;
	kill 'TERM', $slapd_pid;
	my $end = time + 10;
	while (waitpid($slapd_pid, WNOHANG) != $slapd_pid) {
		if (time > $end) {
			kill 'KILL', $slapd_pid;
			waitpid($slapd_pid, 0);
			last;
		}
		sleep 0.02;
	}
	$slapd_pid = undef;
	$end = time + 5;
	sleep 0.02 while (_listening(port('LDAP')) || _listening(port('LDAPS'))
			  || _listening(port('LDAPS'), 2)) && time < $end;
}

# The states of slapd's threads (R, S, T, ...).
sub _thread_states {
	my @s;
	opendir(my $dh, "/proc/$slapd_pid/task") or return ();
	for my $t (grep { /^\d+$/ } readdir $dh) {
		my $st = read_file("/proc/$slapd_pid/task/$t/stat") // next;
		push @s, $1 if $st =~ /^\d+ \(.*\) (\S)/s;
	}
	closedir $dh;
	return @s;
}

# Freeze slapd (SIGSTOP) and wait until every thread of it has stopped: a
# stop is delivered lazily, a busy thread may still answer for a while.
sub slapd_pause {
	kill 'STOP', $slapd_pid or die "kill STOP $slapd_pid: $!\n";
	my $end = time + 5;
	while (time < $end) {
		my @s = _thread_states();
		return 1 if @s && !grep { $_ ne 'T' && $_ ne 't' } @s;
		sleep 0.01;
	}
	die "slapd $slapd_pid does not stop\n";
}

# Let a paused slapd run again.
sub slapd_resume { kill 'CONT', $slapd_pid }

# --- entries -----------------------------------------------------------------

sub _admin_for {
	my ($ldif) = @_;
	my ($dn) = $ldif =~ /^dn:\s*(.*?)\s*$/mi or die "no dn: in LDIF\n";
	return "cn=admin,$LDAP_BIND_SUFFIX" if $dn =~ /\Q$LDAP_BIND_SUFFIX\E$/i;
	return "cn=admin,$LDAP_SUFFIX";
}

sub _ldap_tool {
	my ($tool, $ldif, @args) = @_;
	my $pwf = write_file("$DIR/rootpw", $ROOTPW, 0600);
	my $r = _run({ stdin => $ldif }, "/usr/bin/$tool", '-x', '-H', ldap_uri(),
		     '-D', _admin_for($ldif), '-y', $pwf, @args);
	die "$tool failed (rc $r->{rc}): $r->{err}\nLDIF:\n$ldif" if $r->{rc};
	return $r->{out};
}

# ldapadd the LDIF text (as the root DN of the suffix of its first entry).
sub ldap_add { _ldap_tool('ldapadd', join("\n", @_)) }

# ldapmodify with the LDIF text (changetype lines included).
sub ldap_modify { _ldap_tool('ldapmodify', join("\n", @_)) }

# ldapsearch BASE FILTER ATTRS (the LDIF output), bound as the root DN of
# BASE's suffix, or as the service DN (pd's bind_dn) when { service => 1 }
# comes first.
sub ldap_search {
	my $as = ref $_[0] ? shift : undef;
	my ($base, $filter, @attrs) = @_;
	my ($dn, $pwf);
	if ($as && $as->{service}) {
		$dn = $LDAP_SERVICE_DN;
		$pwf = write_file("$DIR/servicepw", $SERVICE_PW, 0600);
	} else {
		$pwf = write_file("$DIR/rootpw", $ROOTPW, 0600);
		$dn = $base =~ /\Q$LDAP_BIND_SUFFIX\E$/i ? "cn=admin,$LDAP_BIND_SUFFIX"
			: "cn=admin,$LDAP_SUFFIX";
	}
	my $r = _run({}, '/usr/bin/ldapsearch', '-x', '-LLL', '-o', 'ldif-wrap=no', '-H', ldap_uri(),
		     '-D', $dn, '-y', $pwf, '-b', $base, $filter, @attrs);
	die "ldapsearch failed (rc $r->{rc}): $r->{err}" if $r->{rc};
	return $r->{out};
}

sub _ldif_value {
	my ($attr, $v) = @_;
	# non-ASCII, or a leading space/colon/<: base64 (RFC 2849)
	return "${attr}:: " . encode_base64($v, '') . "\n"
		if $v =~ /[^\x20-\x7e]/ || $v =~ /^[ :<]/ || $v =~ / $/;
	return "$attr: $v\n";
}

# The LDIF of user U (a hash as for PD::Test::make_user_file: user,
# password, scheme, uid, gid, home, mail, mailhost, backend, status), an
# inetOrgPerson/posixAccount/inetLocalMailRecipient/pdMailAccount entry
# uid=USER under BASE (default $LDAP_PEOPLE).  mail -> pdMailbox, mailhost
# -> mailHost, backend -> pdBackend, status -> pdStatus; attrs => { attr =>
# value or [values] } adds more.  Fills in U's uid/gid (5000), home (made),
# hash and maildir like make_user_file does.  U->{dn} is set.
sub ldap_user_entry {
	my ($u) = @_;
	$u->{uid} //= 5000;
	$u->{gid} //= $u->{uid};
	$u->{home} //= make_home($u->{home_name} // $u->{user}, $u->{uid}, $u->{gid});
	$u->{scheme} //= 'SHA512-CRYPT';
	$u->{hash} //= hash_password($u->{scheme}, $u->{password});
	$u->{maildir} = $u->{mail} || "$u->{home}/Maildir";
	my $base = $u->{base} // $LDAP_PEOPLE;
	(my $rdn = $u->{user}) =~ s/([,+"\\<>;=#])/\\$1/g;
	my $dn = $u->{dn} = "uid=$rdn,$base";
	my $t = _ldif_value('dn', $dn)
		. "objectClass: inetOrgPerson\nobjectClass: posixAccount\n"
		. "objectClass: inetLocalMailRecipient\nobjectClass: pdMailAccount\n"
		. _ldif_value('uid', $u->{user}) . _ldif_value('cn', $u->{user})
		. "sn: Test\nuidNumber: $u->{uid}\ngidNumber: $u->{gid}\n"
		. _ldif_value('homeDirectory', $u->{home})
		. _ldif_value('userPassword', $u->{hash});
	my %a = (pdMailbox => $u->{mail}, mailHost => $u->{mailhost},
		 pdBackend => $u->{backend}, pdStatus => $u->{status});
	for my $k (sort keys %a) {
		$t .= _ldif_value($k, $a{$k}) if defined $a{$k} && $a{$k} ne '';
	}
	for my $k (sort keys %{$u->{attrs} // {}}) {
		my $v = $u->{attrs}{$k};
		$t .= _ldif_value($k, $_) for ref $v ? @$v : ($v);
	}
	return $t;
}

# The service DN's password in a file of mode MODE (default 0600), as
# bind_password_file wants it.  NAME defaults to ldap-service.pw.
sub ldap_service_pw_file {
	my ($name, $mode, $pw) = @_;
	return write_file($name // 'ldap-service.pw', ($pw // $SERVICE_PW) . "\n", $mode // 0600);
}

# The text of an [auth] section for the ldap driver: module_dir, uri (the
# plain ldap:// URI), the service bind, base $LDAP_PEOPLE, and a map of
# every pd field.  Options override or add keys (key => value; undef
# leaves the key out).
sub ldap_auth_section {
	my (%o) = @_;
	my %k = (
		driver => 'ldap',
		module_dir => $MODULE_DIR,
		uri => ldap_uri(),
		bind_dn => $LDAP_SERVICE_DN,
		bind_password_file => exists $o{bind_password_file} ? undef : ldap_service_pw_file(),
		base => $LDAP_PEOPLE,
		map => 'user=uid password=userPassword uid=uidNumber gid=gidNumber '
			. 'home=homeDirectory mailhost=mailHost mail=pdMailbox backend=pdBackend '
			. 'status=pdStatus',
		timeout => 3,
		%o,
	);
	my @order = qw(driver module_dir uri starttls ca bind_dn bind_password_file base scope
		       filter map auth_bind timeout);
	my %seen;
	my $t = "[auth]\n";
	for my $key (@order, sort keys %k) {
		next if $seen{$key}++ || !defined $k{$key};
		$t .= "$key = $k{$key}\n";
	}
	return $t;
}

# Only the test process stops the server, not a child that never exec'd.
my $OWNER = $$;

END {
	local $?;
	slapd_stop() if $slapd_pid && $$ == $OWNER;
}

1;
