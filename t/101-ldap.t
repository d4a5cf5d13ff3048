#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# The ldap auth driver (pd_auth_ldap.so) against a real, private slapd:
# IMAP and POP3 logins through stdio and inetd with {SSHA256} and
# {SHA512-CRYPT} userPassword hashes read by a service DN, auth_bind = yes
# against a directory whose hashes nobody may read, StartTLS and ldaps://
# verified with the test CA (and refused with another CA), the mapped
# record fields steering dispatch (mailHost, pdBackend, pdMailbox,
# pdStatus, extra environment), RFC 4515 escaping of the login (filter
# injection), scope, URI failover, timeouts, slapd going away and coming
# back, and the module loader's refusals.  slapd's stats log shows what pd
# really sent: filters, binds, TLS.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw(copy);
use File::Path qw(make_path);
use IO::Socket::INET;
use Mail::IMAPClient;
use Net::POP3;
use Test::More;
use Time::HiRes qw(time sleep);

use PD::Test qw(:all);
use PD::Test::IMAP;
use PD::Test::POP3;
use PD::Test::LDAP qw(:all);

my $dir = testdir();
my $T0 = time;

slapd_start();
my $tls = ldap_tls();

my $BASE_CONF = <<'EOF';
hostname = test.local
log = %%TESTDIR%%/pd.log
login_timeout = 30
max_bad_commands = 20
auth_failure_delay = 0

[backend dovecot]
imap = %%IMAP%%
pop3 = /usr/lib/dovecot/pop3

# stdio sessions come from "local": the TLS policy has its own tests
[tls]
plaintext_auth = allow
EOF

# A pd.conf NAME.conf with an [auth] section for the ldap driver (options as
# for ldap_auth_section).
sub conf {
	my ($name, %auth) = @_;
	my $imap = delete $auth{_imap} // $PD::Test::DOVECOT_IMAP;
	return write_conf($BASE_CONF . "\n" . ldap_auth_section(%auth), file => "$name.conf",
			  IMAP => $imap);
}

# --- the directory -------------------------------------------------------------------

mkdir "$dir/mail", 0755;
make_path("$dir/mail/bob");
chown 5001, 5001, "$dir/mail/bob";
my %u = (
	alice => { user => 'alice', password => 'Alice-ldap-pw-1', scheme => 'SSHA256',
		   attrs => { mail => 'Alice.Example@example.org' } },
	# mailHost = this host, explicit backend, the maildir from pdMailbox
	bob => { user => 'bob', password => 'Bob-ldap-pw-2', scheme => 'SHA512-CRYPT', uid => 5001,
		 mailhost => 'test.local', backend => 'dovecot', mail => "$dir/mail/bob/box" },
	carol => { user => 'carol', password => 'Carol-ldap-pw-3', status => 'disabled' },
	remy => { user => 'remy', password => 'Remy-ldap-pw-4', mailhost => 'mx9.example.org' },
	# this host, spelt in capitals (host names are case-insensitive)
	hugo => { user => 'hugo', password => 'Hugo-ldap-pw-14', mailhost => 'Test.Local' },
	xavier => { user => 'xavier', password => 'Xavier-ldap-pw-5', backend => 'exchange' },
	toor => { user => 'toor', password => 'Toor-ldap-pw-16', uid => 0, gid => 0 },
	# filter metacharacters and non-ASCII in the uid itself: found only
	# when pd escapes them exactly
	star => { user => 'p(a)r*n', password => 'Star-ldap-pw-6', home_name => 'starry',
		  scheme => 'SSHA256' },
	joerg => { user => "j\xc3\xb6rg", password => 'Joerg-ldap-pw-7', home_name => 'joerg' },
	# one level further down
	sam => { user => 'sam', password => 'Sam-ldap-pw-8', base => "ou=staff,$LDAP_PEOPLE" },
	# one uid twice
	dup1 => { user => 'dup', password => 'Dup1-ldap-pw-12', home_name => 'dup1' },
	dup2 => { user => 'dup', password => 'Dup2-ldap-pw-13', home_name => 'dup2',
		  base => "ou=staff,$LDAP_PEOPLE" },
	# extra fields for the environment of the mail server
	erin => { user => 'erin', password => 'Erin-ldap-pw-9', scheme => 'SSHA256',
		  attrs => { roomNumber => 'R2-D2', description => 'PD_DEPT=sales LD_PRELOAD=/tmp/x.so' } },
);
ldap_add("dn: ou=staff,$LDAP_PEOPLE\nobjectClass: organizationalUnit\nou: staff\n");
ldap_add(map { ldap_user_entry($u{$_}) } sort keys %u);

# auth_bind: nobody may read these hashes; slapd checks them on a bind
# ({SSHA256} through pw-sha2, {CRYPT} with glibc's crypt: $6$)
my %b = (
	bindy => { user => 'bindy', password => 'Bindy-ldap-pw-10', scheme => 'SSHA256', uid => 5001,
		   base => $LDAP_BIND_PEOPLE },
	bindc => { user => 'bindc', password => 'Bindc-ldap-pw-11', base => $LDAP_BIND_PEOPLE },
	# a DN that needs escaping: uid=o\,hara,...
	ohara => { user => 'o,hara', password => 'Ohara-ldap-pw-15', scheme => 'SSHA256',
		   home_name => 'ohara', base => $LDAP_BIND_PEOPLE },
);
($b{bindc}{hash} = hash_password('SHA512-CRYPT', $b{bindc}{password})) =~ s/^\{SHA512-CRYPT\}/{CRYPT}/;
ldap_add(map { ldap_user_entry($b{$_}) } sort keys %b);

my $WRONG = 'Wrong-ldap-pw-99';
my $LOGGED_IN = qr/^(\S+) OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/;
my $FAILED = 'NO [AUTHENTICATIONFAILED] Authentication failed.';
my $TEMPFAIL = 'NO [UNAVAILABLE] Temporary authentication failure, try again later.';
my $POP_TEMPFAIL = '-ERR [SYS/TEMP] Temporary authentication failure, try again later.';

my $conf = conf('pd');

sub imap {
	my ($cf) = @_;
	my ($s, $pid) = stdio_session($cf // $conf, 'imap');
	my $c = PD::Test::IMAP->new($s, timeout => 10);
	$c->{pid} = $pid;
	$c->{greeting} = $c->getline;
	return $c;
}

# LOGIN with both arguments as non-synchronizing literals: any bytes.
sub login_lit {
	my ($c, $tag, $user, $pw) = @_;
	$c->send_raw("$tag LOGIN {" . length($user) . "+}\r\n$user {" . length($pw) . "+}\r\n$pw\r\n");
	return scalar $c->tagged($tag, 10);
}

sub dovecot_of {
	my ($c) = @_;
	my @b = backend_procs($c->{pid}, $PD::Test::DOVECOT_IMAP);
	return $b[0];
}

sub no_backend {
	my ($c) = @_;
	return !grep { $_->{exe} =~ m{/dovecot/} } proc_tree($c->{pid});
}

sub tempfail_log_ldap {
	my ($user, $mark) = @_;
	return wait_for_log(qr/auth-failed user="\Q$user\E".*reason=tempfail/, 5, $mark) // '';
}

# The "(uid=...)" value slapd received in the SRCH filters logged after MARK.
sub srch_filters {
	my ($mark) = @_;
	return map { /filter="(.*)"/ ? $1 : () } slapd_lines(qr/ SRCH base=/, $mark);
}

# --- IMAP over stdio: hashes read by the service DN ----------------------------------

{
	my $mark = log_mark();
	my $smark = slapd_mark();
	my $c = imap();
	like($c->{greeting} // '', qr/^\* OK /, 'greeting (the driver connects lazily)');
	is(scalar(slapd_lines(qr/ ACCEPT from /, $smark, 0.3)), 0, 'no LDAP connection before a login');
	like(scalar $c->cmd("a1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'alice ({SSHA256} in userPassword) logs in, answered by Dovecot');
	my $p = dovecot_of($c);
	is_deeply([@{($p // {})->{uid} // []}[0 .. 2]], [5000, 5000, 5000], 'Dovecot runs as uidNumber 5000');
	like(scalar $c->cmd('a2 SELECT INBOX') // '', qr/^a2 OK \[READ-WRITE\]/, 'SELECT INBOX');
	ok(-d "$u{alice}{home}/Maildir/new", 'maildir made at homeDirectory/Maildir');
	ok(wait_for_event('imap login', { user => 'alice', backend => 'dovecot', method => 'LOGIN' },
			  5, $mark), 'log: imap login user=alice backend=dovecot') or diag(log_text($mark));
	my @bind = slapd_lines(qr/ BIND dn=/, $smark);
	ok(grep({ /BIND dn="\Q$LDAP_SERVICE_DN\E" method=128/ } @bind), 'pd bound as the service DN')
		or diag(join "\n", @bind);
	my @f = srch_filters($smark);
	is_deeply(\@f, ['(&(objectClass=posixAccount)(uid=alice))'], 'one search, the default filter')
		or diag(join "\n", @f);
	$c->cmd('a3 LOGOUT');
}

{
	my $mark = log_mark();
	my $c = imap();
	like(scalar $c->cmd("b1 LOGIN BOB $u{bob}{password}") // '', $LOGGED_IN,
	     'bob ({SHA512-CRYPT}, mailHost = this host, pdBackend dovecot) logs in as BOB');
	my $p = dovecot_of($c);
	is_deeply([@{($p // {})->{uid} // []}[0 .. 2]], [5001, 5001, 5001], 'Dovecot runs as 5001');
	ok(-d "$u{bob}{maildir}/$_", "maildir $_/ at pdMailbox") for qw(cur new tmp);
	ok(!-e "$u{bob}{home}/Maildir", 'not at homeDirectory/Maildir');
	ok(wait_for_event('imap login', { user => 'bob', backend => 'dovecot' }, 5, $mark),
	   'log: user=bob (lower-cased)');
	$c->cmd('b2 LOGOUT');
}

# escaping that is exact, not just defensive: these uids are found
{
	my $c = imap();
	my $smark = slapd_mark();
	like(login_lit($c, 's1', $u{star}{user}, $u{star}{password}) // '', $LOGGED_IN,
	     'uid "p(a)r*n" (filter metacharacters) logs in');
	my @f = srch_filters($smark);
	ok(grep({ /\(uid=p\\28a\\29r\\2an\)/i } @f), 'sent as uid=p\28a\29r\2an') or diag(join "\n", @f);
	$c->cmd('s2 LOGOUT');

	$c = imap();
	$smark = slapd_mark();
	like(login_lit($c, 'j1', $u{joerg}{user}, $u{joerg}{password}) // '', $LOGGED_IN,
	     'non-ASCII uid "j\xc3\xb6rg" logs in');
	@f = srch_filters($smark);
	ok(grep({ /\(uid=j\\c3\\b6rg\)/i } @f), 'sent as uid=j\c3\b6rg') or diag(join "\n", @f);
	$c->cmd('j2 LOGOUT');
}

# bytes that are not UTF-8: nobody, and not a server error
{
	my $mark = log_mark();
	my $c = imap();
	is(login_lit($c, 'j3', "j\xf6rg", $u{joerg}{password}), "j3 $FAILED",
	   'latin-1 "j\xf6rg": Authentication failed');
	is(login_lit($c, 'j4', "\xff\xfe", $WRONG), "j4 $FAILED", 'bytes ff fe: Authentication failed');
	ok(!wait_for_log(qr/reason=tempfail/, 0.2, $mark), 'no tempfail') or diag(log_text($mark));
}

# --- failures ----------------------------------------------------------------------

{
	my $mark = log_mark();
	my $c = imap();
	my $w = $c->cmd("f1 LOGIN alice $WRONG");
	my $n = $c->cmd("f2 LOGIN nosuchuser $WRONG");
	is($w, "f1 $FAILED", 'wrong password: Authentication failed');
	is($n, "f2 $FAILED", 'unknown user: the same reply');
	is(scalar $c->cmd("f3 LOGIN carol $u{carol}{password}"),
	   'f3 NO [AUTHENTICATIONFAILED] Account is disabled.', 'pdStatus=disabled: refused');
	is(scalar $c->cmd("f4 LOGIN carol $WRONG"), "f4 $FAILED",
	   'disabled user with a wrong password: not told it is disabled');
	ok(no_backend($c), 'no backend started');
	ok(wait_for_event('imap auth-failed', { user => 'alice', reason => 'password-mismatch' }, 5, $mark),
	   'log: reason=password-mismatch');
	ok(wait_for_event('imap auth-failed', { user => 'nosuchuser', reason => 'unknown-user' }, 5, $mark),
	   'log: reason=unknown-user');
	ok(wait_for_event('imap auth-failed', { user => 'carol', reason => 'disabled' }, 5, $mark),
	   'log: reason=disabled');
	like(scalar $c->cmd("f5 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'the same session (one LDAP connection) logs in after the failures');
	$c->cmd('f6 LOGOUT');
}

# --- filter injection ------------------------------------------------------------------

{
	my $mark = log_mark();
	my $smark = slapd_mark();
	my $c = imap();
	my @inj = ('*', '*)(uid=*', 'alice)(|(uid=*', 'a*', 'al*ce', '*)(objectClass=*');
	my $i = 0;
	for my $login (@inj) {
		$i++;
		# alice's own password: a filter that matched her would log in
		is(scalar $c->cmd(qq{i$i LOGIN "$login" "$u{alice}{password}"}), "i$i $FAILED",
		   "login '$login' with alice's password: Authentication failed");
	}
	ok(no_backend($c), 'nobody logged in');
	for my $login (@inj) {
		ok(wait_for_event('imap auth-failed', { user => $login, reason => 'unknown-user' }, 5, $mark),
		   "log: user=\"$login\" reason=unknown-user (no entry matched)");
	}
	ok(!wait_for_log(qr/reason=tempfail/, 0.1, $mark), 'no tempfail: never more than one entry');
	my @f = srch_filters($smark);
	is(scalar(@f), scalar(@inj), 'one search per login') or diag(join "\n", @f);
	ok(!grep({ /\(uid=[^)]*[*(]/ || /\)\(\|/ } @f), 'no unescaped * ( ) in any filter slapd got')
		or diag(join "\n", @f);
	ok(grep({ $_ eq '(&(objectClass=posixAccount)(uid=alice\\29\\28|\\28uid=\\2a))'
		  || lc($_) eq lc('(&(objectClass=posixAccount)(uid=alice\\29\\28|\\28uid=\\2a))') } @f),
	   'alice)(|(uid=* arrives as one escaped value') or diag(join "\n", @f);
	$c->cmd('i9 LOGOUT');
}

# the longest login pd takes, every byte escaped (3 x 256 bytes in the filter)
{
	my $mark = log_mark();
	my $c = imap();
	my $long = '(' x 256;
	is(login_lit($c, 'g1', $long, $WRONG), "g1 $FAILED", 'a 256-byte login of "(": Authentication failed');
	ok(wait_for_event('imap auth-failed', { reason => 'unknown-user' }, 5, $mark), 'log: unknown-user');
	ok(!wait_for_log(qr/reason=tempfail/, 0.1, $mark), 'no tempfail');
	like(scalar $c->cmd('g2 NOOP') // '', qr/^g2 OK/, 'still answering');
}

# two entries for one login: neither is taken
{
	my $mark = log_mark();
	my $c = imap();
	is(scalar $c->cmd("u1 LOGIN dup $u{dup1}{password}"), "u1 $TEMPFAIL",
	   'two entries with uid=dup: temporary failure, not the first one');
	is(scalar $c->cmd("u2 LOGIN dup $u{dup2}{password}"), "u2 $TEMPFAIL", 'with either password');
	ok(no_backend($c), 'no login');
	like(wait_for_log(qr/auth-failed user="dup".*reason=tempfail/, 5, $mark) // '',
	     qr/more than one entry for dup/, 'log: more than one entry');
}

# a NUL inside the login (an IMAP literal may carry one)
{
	my $mark = log_mark();
	my $c = imap();
	my $r = login_lit($c, 'z1', "alice\0x", $u{alice}{password});
	like($r // '', qr/^z1 (NO|BAD) /, 'login "alice\\0x" with alice\'s password: refused');
	ok(no_backend($c), 'no backend');
	ok(!wait_for_event('imap login', { user => 'alice' }, 0.3, $mark), 'no login of alice logged');
}

# --- dispatch: mailHost and pdBackend ----------------------------------------------------

{
	my $mark = log_mark();
	my $c = imap();
	is(scalar $c->cmd("m1 LOGIN remy $u{remy}{password}"), 'm1 NO [UNAVAILABLE] '
	   . 'Temporary authentication failure, try again later.',
	   'mailHost of another host: NO [UNAVAILABLE]');
	ok(no_backend($c), 'not served here');
	like(wait_for_log(qr/dispatch-failed user=remy/, 5, $mark) // '',
	     qr/lives on mailhost mx9\.example\.org, not on test\.local/,
	     'log: dispatch-failed ... lives on mailhost mx9.example.org, not on test.local');
	ok(!-e "$u{remy}{home}/Maildir", 'no maildir for remy');

	$c = imap();
	is(scalar $c->cmd("x1 LOGIN xavier $u{xavier}{password}"), "x1 $TEMPFAIL",
	   'pdBackend "exchange": NO [UNAVAILABLE]');
	like(wait_for_log(qr/dispatch-failed user=xavier/, 5, $mark) // '',
	     qr/unknown backend 'exchange'/, "log: unknown backend 'exchange'");
	ok(no_backend($c), 'no backend started');
}

{
	my $mark = log_mark();
	my $c = imap();
	my $r = $c->cmd("h1 LOGIN hugo $u{hugo}{password}");
	like($r // '', $LOGGED_IN, 'mailHost "Test.Local" is this host (test.local): served here');
	$c->cmd('h2 LOGOUT') if ($r // '') =~ / OK /;
}

# --- the filter: %u more than once, a login that is not the uid ------------------------------

{
	my $cf = conf('bymail', filter => '(&(objectClass=posixAccount)(|(uid=%u)(mail=%u)))');
	my $mark = log_mark();
	my $smark = slapd_mark();
	my $c = imap($cf);
	like(scalar $c->cmd("l1 LOGIN Alice.Example\@example.org $u{alice}{password}") // '', $LOGGED_IN,
	     'filter (|(uid=%u)(mail=%u)): alice logs in with her mail address');
	ok(wait_for_event('imap login', { user => 'alice' }, 5, $mark),
	   'log: user=alice, the uid of the entry (map user=uid), not the login');
	my @f = srch_filters($smark);
	is_deeply(\@f, ['(&(objectClass=posixAccount)(|(uid=alice.example@example.org)'
			. '(mail=alice.example@example.org)))'], 'both %u replaced (lower-cased login)')
		or diag(join "\n", @f);
	$c->cmd('l2 LOGOUT');
	$c = imap($cf);
	like(scalar $c->cmd("l3 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN, 'and with her uid');
	$c->cmd('l4 LOGOUT');
}

{
	my $c = imap();
	like(scalar $c->cmd("r1 LOGIN toor $u{toor}{password}") // '', qr/^r1 NO /,
	     'uidNumber 0: the right password is refused');
	ok(no_backend($c), 'uidNumber 0: no backend');
}

# --- extra fields: unknown map names go to the mail server's environment ---------------------

{
	my $envdir = "$dir/backend-env";
	make_path($envdir);
	chmod 01777, $envdir;
	my $rec = write_file('bin/record-env-imap',
			     "#!/bin/sh\nenv > $envdir/\$\$\nexec $PD::Test::DOVECOT_IMAP \"\$@\"\n", 0755);
	my $cf = conf('env', _imap => $rec,
		      map => 'user=uid password=userPassword uid=uidNumber gid=gidNumber '
			. 'home=homeDirectory PD_ROOM=roomNumber extra=description');
	my $mark = log_mark();
	my $c = imap($cf);
	like(scalar $c->cmd("e1 LOGIN erin $u{erin}{password}") // '', $LOGGED_IN, 'erin logs in');
	my $p = dovecot_of($c);
	my $f = "$envdir/" . ($p ? $p->{pid} : 0);
	my $end = time + 3;
	sleep 0.05 until -s $f || time > $end;
	my %env = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, read_file($f) // '';
	is($env{PD_ROOM}, 'R2-D2', 'map PD_ROOM=roomNumber: PD_ROOM in the environment');
	is($env{PD_DEPT}, 'sales', 'map extra=description: its key=value pairs too');
	is($env{USER}, 'erin', 'USER');
	ok(!exists $env{LD_PRELOAD}, 'but no LD_PRELOAD from the directory');
	ok(wait_for_log(qr/extra 'LD_PRELOAD' not passed/, 3, $mark), 'log: LD_PRELOAD not passed');
	$c->cmd('e2 LOGOUT');
}

# --- scope ----------------------------------------------------------------------------------

{
	my $c = imap();
	like(scalar $c->cmd("s1 LOGIN sam $u{sam}{password}") // '', $LOGGED_IN,
	     'scope = sub (default): sam in ou=staff,ou=people is found');
	$c->cmd('s2 LOGOUT');
	my $mark = log_mark();
	$c = imap(conf('scope-one', scope => 'one'));
	is(scalar $c->cmd("s3 LOGIN sam $u{sam}{password}"), "s3 $FAILED", 'scope = one: sam is not');
	like(scalar $c->cmd("s4 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'scope = one: alice directly under the base is');
	ok(wait_for_event('imap auth-failed', { user => 'sam', reason => 'unknown-user' }, 5, $mark),
	   'log: sam unknown-user');
	$c = imap(conf('scope-base', scope => 'base'));
	is(scalar $c->cmd("s5 LOGIN alice $u{alice}{password}"), "s5 $FAILED", 'scope = base: nobody');
}

# --- IMAP and POP3 through inetd ------------------------------------------------------------

my ($IMAP, $POP3) = (port('IMAP'), port('POP3'));
start_inetd({ port => $IMAP, proto => 'imap', conf => $conf },
	    { port => $POP3, proto => 'pop3', conf => $conf });

{
	my $mark = log_mark();
	my $imap = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $IMAP, User => 'alice',
					 Password => $u{alice}{password}, Timeout => 10, Uid => 1);
	ok($imap && $imap->IsAuthenticated, 'inetd: Mail::IMAPClient LOGIN alice') or diag($@);
	if ($imap) {
		my @peer = grep { $_->{exe} eq $PD::Test::DOVECOT_IMAP } tcp_peer_procs($imap->Socket);
		is(scalar(@peer), 1, 'inetd: the connection is Dovecot\'s');
		ok(wait_for_event('imap login', { user => 'alice', ip => '127.0.0.1', backend => 'dovecot' },
				  5, $mark), 'log: imap login over inetd');
		ok($imap->select('INBOX'), 'SELECT');
		my $msgid = "<pd-101-$$\@test.local>";
		my $uid = $imap->append_string('INBOX', "Message-ID: $msgid\r\nSubject: ldap\r\n\r\nldap\r\n");
		ok($uid && find_message($u{alice}{maildir}, $msgid), 'APPEND lands in the maildir on disk');
		ok($imap->logout, 'LOGOUT');
	}
}

{
	put_message($u{bob}, "Subject: pop\nMessage-ID: <pop-101-$$\@t>\n\nover pop3\n");
	my $mark = log_mark();
	my $pop = Net::POP3->new('127.0.0.1', Port => $POP3, Timeout => 10);
	ok($pop, 'Net::POP3 connects');
	if ($pop) {
		is($pop->login('bob', $u{bob}{password}), 1, 'POP3 USER/PASS as bob: 1 message');
		like(join('', @{$pop->get(1) || []}), qr/over pop3/, 'RETR 1');
		ok(wait_for_event('pop3 login', { user => 'bob', backend => 'dovecot' }, 5, $mark),
		   'log: pop3 login user=bob');
		$pop->quit;
	}
	my $c = PD::Test::POP3->new($POP3);
	$c->getline;
	like($c->cmd('USER alice') // '', qr/^\+OK/, 'USER');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'POP3: wrong password');
	$c->cmd('USER ghost');
	is($c->cmd("PASS $WRONG"), '-ERR [AUTH] Authentication failed.', 'POP3: unknown user, the same');
	$c->cmd('USER carol');
	is($c->cmd("PASS $u{carol}{password}"), '-ERR [AUTH] Account is disabled.', 'POP3: disabled');
	$c->cmd('QUIT');
}

# --- auth_bind: the password is checked by binding as the entry ---------------------------------

{
	my $hidden = ldap_search({ service => 1 }, $LDAP_BIND_PEOPLE, '(uid=bindy)', 'uid', 'userPassword');
	like($hidden, qr/^uid: bindy$/m, 'the service DN finds bindy');
	unlike($hidden, qr/userPassword/i, 'but may not read her userPassword');

	my $bconf = conf('bind', base => $LDAP_BIND_PEOPLE, auth_bind => 'yes');
	my $mark = log_mark();
	my $smark = slapd_mark();
	my $c = imap($bconf);
	like(scalar $c->cmd("a1 LOGIN bindy $b{bindy}{password}") // '', $LOGGED_IN,
	     'auth_bind: bindy ({SSHA256}, checked by slapd) logs in');
	my @bind = slapd_lines(qr/ BIND dn=/, $smark);
	ok(grep({ /BIND dn="uid=bindy,\Q$LDAP_BIND_PEOPLE\E" method=128/ } @bind),
	   'pd bound as uid=bindy,...') or diag(join "\n", @bind);
	my @res = slapd_lines(qr/ RESULT tag=97 err=0/, $smark);
	cmp_ok(scalar(@res), '>=', 2, 'both binds (service, user) succeeded');
	$c->cmd('a2 LOGOUT');

	$c = imap($bconf);
	like(scalar $c->cmd("c1 LOGIN bindc $b{bindc}{password}") // '', $LOGGED_IN,
	     'auth_bind: bindc ({CRYPT}$6$) logs in');
	$c->cmd('c2 LOGOUT');

	$c = imap($bconf);
	like(scalar $c->cmd("c3 LOGIN o,hara $b{ohara}{password}") // '', $LOGGED_IN,
	     'auth_bind: uid "o,hara" (DN uid=o\\,hara,...) logs in');
	$c->cmd('c4 LOGOUT');

	$c = imap($bconf);
	is(scalar $c->cmd("w1 LOGIN bindy $WRONG"), "w1 $FAILED", 'auth_bind: wrong password refused');
	is(scalar $c->cmd("w2 LOGIN ghost $WRONG"), "w2 $FAILED", 'auth_bind: unknown user, the same');
	is(scalar $c->cmd('w3 LOGIN bindy ""'), "w3 $FAILED",
	   'auth_bind: an empty password (an unauthenticated bind) is refused');
	ok(no_backend($c), 'auth_bind: nobody logged in');
	ok(wait_for_event('imap auth-failed', { user => 'bindy', reason => 'password-mismatch' }, 5, $mark),
	   'log: wrong password is password-mismatch, not tempfail');
	ok(!wait_for_log(qr/auth-failed user="bindy".*reason=tempfail/, 0.1, $mark), 'no tempfail for bindy');
	like(scalar $c->cmd("w4 LOGIN bindy $b{bindy}{password}") // '', $LOGGED_IN,
	     'auth_bind: the right password after the failures, same session');

	# without auth_bind the hidden hash cannot be compared: no login (pd
	# takes a record without a password for a broken directory: tempfail)
	$mark = log_mark();
	$c = imap(conf('nobind', base => $LDAP_BIND_PEOPLE));
	like(scalar $c->cmd("n1 LOGIN bindy $b{bindy}{password}") // '', qr/^n1 NO /,
	     'auth_bind = no on a directory that hides the hash: refused');
	ok(no_backend($c), 'auth_bind = no: nobody logged in');
	like(wait_for_log(qr/auth-failed user="bindy"/, 5, $mark) // '', qr/empty password/,
	     'log: the record has an empty password');
}

# --- TLS to slapd ----------------------------------------------------------------------------

{
	my %cases = (
		starttls => [uri => ldap_uri(), starttls => 'yes', ca => $tls->{ca}],
		ldaps => [uri => ldaps_uri(), ca => $tls->{ca}],
	);
	for my $k (sort keys %cases) {
		my $smark = slapd_mark();
		my $c = imap(conf("tls-$k", @{$cases{$k}}));
		like(scalar $c->cmd("t1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
		     "$k with ca = the test CA: alice logs in");
		my @t = slapd_lines(qr/ TLS established /, $smark);
		ok(@t, "$k: slapd saw a TLS handshake") or diag(slapd_log());
		ok(slapd_lines(qr/ STARTTLS$/, $smark, 0.2), 'StartTLS extended operation') if $k eq 'starttls';
		$c->cmd('t2 LOGOUT');
	}
	# auth_bind over StartTLS: the user's password goes over TLS too
	my $smark = slapd_mark();
	my $c = imap(conf('tls-bind', starttls => 'yes', ca => $tls->{ca}, base => $LDAP_BIND_PEOPLE,
			  auth_bind => 'yes'));
	like(scalar $c->cmd("t3 LOGIN bindy $b{bindy}{password}") // '', $LOGGED_IN,
	     'StartTLS + auth_bind: bindy logs in');
	$c->cmd('t4 LOGOUT');
	my @l = slapd_lines(qr/ conn=\d+ /, $smark);
	my (%tls_conn, @plain_binds, $user_binds);
	for (@l) {
		my ($conn) = / conn=(\d+) / or next;
		$tls_conn{$conn} = 1 if / TLS established /;
		if (/ BIND dn="([^"]*)" method=/) {
			$user_binds++ if $1 =~ /^uid=bindy,/;
			push @plain_binds, $_ unless $tls_conn{$conn};
		}
	}
	is($user_binds, 1, 'one bind as the user');
	is_deeply(\@plain_binds, [], 'every bind (service and user) after the TLS handshake');

	my %bad = (
		starttls => [uri => ldap_uri(), starttls => 'yes', ca => $tls->{other_ca}],
		ldaps => [uri => ldaps_uri(), ca => $tls->{other_ca}],
		# the right CA, but 127.0.0.2 is not a name in the certificate
		'ldaps-wrong-name' => [uri => ldaps_alt_uri(), ca => $tls->{ca}],
	);
	for my $k (sort keys %bad) {
		my $mark = log_mark();
		my $smark = slapd_mark();
		my $c = imap(conf("badtls-$k", @{$bad{$k}}));
		is(scalar $c->cmd("u1 LOGIN alice $u{alice}{password}"), "u1 $TEMPFAIL",
		   "$k: slapd's certificate is not trusted: temporary failure");
		ok(no_backend($c), "$k untrusted: no login");
		my $l = wait_for_log(qr/auth-failed user="alice".*reason=tempfail/, 5, $mark);
		like($l // '', qr/: ldap /, "log: auth-failed ... reason=tempfail ...: ldap ...") or diag(log_text($mark));
		ok(!slapd_lines(qr/ BIND dn=/, $smark, 0.2), "$k untrusted: no bind (no password) was sent");
	}
}

# --- URI list, timeouts, the service bind --------------------------------------------------------

{
	my $dead = port('DEAD');
	my $c = imap(conf('failover', uri => "ldap://127.0.0.1:$dead/ " . ldap_uri()));
	like(scalar $c->cmd("o1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'uri = "<dead> <live>": the second server is used');
	$c->cmd('o2 LOGOUT');

	my $mark = log_mark();
	$c = imap(conf('alldead', uri => "ldap://127.0.0.1:$dead/"));
	is(scalar $c->cmd("o3 LOGIN alice $u{alice}{password}"), "o3 $TEMPFAIL", 'no server: temporary failure');
	like(wait_for_log(qr/auth-failed user="alice".*reason=tempfail/, 5, $mark) // '', qr/: ldap /,
	     'log: reason=tempfail ...: ldap ...');

	# a server that accepts the connection and never answers
	my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => port('HOLE'),
					 Listen => 5, ReuseAddr => 1) or die "listen: $!\n";
	$c = imap(conf('hole', uri => 'ldap://127.0.0.1:' . port('HOLE') . '/', timeout => 1));
	my $t0 = time;
	is(scalar $c->cmd("o4 LOGIN alice $u{alice}{password}", 15), "o4 $TEMPFAIL",
	   'a server that never answers: temporary failure');
	cmp_ok(time - $t0, '<', 6, 'within a few seconds of timeout = 1');
	close $hole;

	# slapd hangs (SIGSTOP) under an open connection: bounded, then back
	my $cf = conf('hang', timeout => 1);
	$c = imap($cf);
	is(scalar $c->cmd("h1 LOGIN alice $WRONG"), "h1 $FAILED", 'connected (timeout = 1)');
	$mark = log_mark();
	slapd_pause();
	$t0 = time;
	is(scalar $c->cmd("h2 LOGIN alice $u{alice}{password}", 15), "h2 $TEMPFAIL",
	   'slapd hangs: temporary failure');
	my $dt = time - $t0;
	slapd_resume();
	cmp_ok($dt, '<', 4, sprintf('within a few seconds of timeout = 1 (%.1f s)', $dt));
	like(tempfail_log_ldap('alice', $mark), qr/: ldap /, 'log: tempfail ...: ldap ...');
	like(scalar $c->cmd("h3 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'slapd running again: the same session logs in');
	$c->cmd('h4 LOGOUT');

	$mark = log_mark();
	my $badpw = ldap_service_pw_file('wrong-service.pw', 0600, 'Not-the-service-pw');
	$c = imap(conf('badbind', bind_password_file => $badpw));
	is(scalar $c->cmd("o5 LOGIN alice $u{alice}{password}"), "o5 $TEMPFAIL",
	   'a wrong service password: temporary failure, not "Authentication failed"');
	like(wait_for_log(qr/auth-failed user="alice".*reason=tempfail/, 5, $mark) // '',
	     qr/bind as '\Q$LDAP_SERVICE_DN\E'/, 'log names the failed service bind');
}

# --- slapd goes away and comes back ------------------------------------------------------------------

{
	my $c = imap();
	is(scalar $c->cmd("d1 LOGIN alice $WRONG"), "d1 $FAILED", 'a session with an open LDAP connection');
	my $pop = PD::Test::POP3->new($POP3);
	$pop->getline;
	slapd_stop();
	my $mark = log_mark();
	is(scalar $c->cmd("d2 LOGIN alice $u{alice}{password}"), "d2 $TEMPFAIL",
	   'slapd stopped: the right password gets a temporary failure');
	my $l = wait_for_log(qr/imap auth-failed user="alice".*reason=tempfail/, 5, $mark);
	like($l // '', qr/: ldap /, 'log: auth-failed ... reason=tempfail ...: ldap ...') or diag(log_text($mark));
	ok(!wait_for_log(qr/auth-failed user="alice".*reason=password-mismatch/, 0.1, $mark),
	   'not a password mismatch');
	my $c2 = imap();
	is(scalar $c2->cmd("d3 LOGIN alice $u{alice}{password}"), "d3 $TEMPFAIL",
	   'slapd stopped: a new session too');
	$pop->cmd('USER alice');
	is($pop->cmd("PASS $u{alice}{password}"), $POP_TEMPFAIL, 'slapd stopped: POP3 -ERR [SYS/TEMP]');
	ok(no_backend($c) && no_backend($c2), 'nobody logged in');

	slapd_start();
	like(scalar $c->cmd("d4 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'slapd back: the same session logs in (reconnected)');
	$c->cmd('d5 LOGOUT');
	like(scalar $c2->cmd("d6 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'slapd back: the other session too');
	$c2->cmd('d7 LOGOUT');
	my $c3 = imap();
	like(scalar $c3->cmd("d8 LOGIN bob $u{bob}{password}") // '', $LOGGED_IN, 'and a new session');
	$c3->cmd('d9 LOGOUT');
	$pop->cmd('USER alice');
	like($pop->cmd("PASS $u{alice}{password}") // '', qr/^\+OK/, 'and POP3');
	$pop->cmd('QUIT');

	# restarted between two lookups of one session: the dead connection
	# is replaced without the client noticing
	my $c4 = imap();
	is(scalar $c4->cmd("r1 LOGIN alice $WRONG"), "r1 $FAILED", 'connected');
	slapd_stop();
	slapd_start();
	like(scalar $c4->cmd("r2 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'slapd restarted between two logins: the second one works');
	$c4->cmd('r3 LOGOUT');
}

# --- the module and its secret file ----------------------------------------------------------------

# The line of KEY = ... in FILE.
sub line_of {
	my ($file, $re) = @_;
	my @l = split /\n/, read_file($file);
	for my $i (0 .. $#l) { return $i + 1 if $l[$i] =~ $re; }
	return 0;
}

{
	my $empty = "$dir/no-modules";
	make_path($empty);
	my $cf = conf('nomodule', module_dir => $empty);
	my $line = line_of($cf, qr/^driver = ldap/);
	my $r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'imap', '-d');
	is($r->{rc}, 78, 'pd_auth_ldap.so missing: exit 78');
	like($r->{err}, qr/\Q$cf\E:$line: auth driver 'ldap' is not installed: no \Q$empty\E\/pd_auth_ldap\.so/,
	     "stderr names pd.conf:line and the path") or diag($r->{err});
	like($r->{out}, qr/^\* BYE \[UNAVAILABLE\] /, 'the client hears BYE [UNAVAILABLE]');

	my $mark = log_mark();
	my ($s, $pid) = stdio_session($cf, 'imap');
	my $c = PD::Test::IMAP->new($s);
	like($c->read_to_eof(5) // '', qr/^\* BYE \[UNAVAILABLE\] Server configuration error\.\r\n\z/,
	     'a session: BYE, no greeting');
	is(wait_pid($pid, 5) // -1, 78 << 8, 'the session exits 78');
	like(wait_for_log(qr/not installed/, 3, $mark) // '', qr/no \Q$empty\E\/pd_auth_ldap\.so/,
	     'pd.log names the path');

	my $mods = "$dir/mods-ok";
	make_path($mods);
	copy(module_dir() . '/pd_auth_ldap.so', "$mods/pd_auth_ldap.so") or die "copy: $!\n";
	chmod 0755, "$mods/pd_auth_ldap.so";
	$c = imap(conf('modcopy', module_dir => $mods));
	like(scalar $c->cmd("m1 LOGIN alice $u{alice}{password}") // '', $LOGGED_IN,
	     'the module copied into another module_dir loads from there');
	$c->cmd('m2 LOGOUT');
	chmod 0775, "$mods/pd_auth_ldap.so";
	$r = run_pd('pd-forker-stdio', '-c', "$dir/modcopy.conf", '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a group-writable module: exit 78');
	like($r->{err}, qr/\Q$mods\E\/pd_auth_ldap\.so must be a regular file owned by root .*writable by nobody else/,
	     'refused: writable by others') or diag($r->{err});
	chmod 0755, "$mods/pd_auth_ldap.so";
	chown 5000, 0, "$mods/pd_auth_ldap.so";
	$r = run_pd('pd-forker-stdio', '-c', "$dir/modcopy.conf", '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a module owned by another uid: exit 78');
	like($r->{err}, qr/pd_auth_ldap\.so must be a regular file owned by root/, 'refused') or diag($r->{err});
	chown 0, 0, "$mods/pd_auth_ldap.so";

	my $world = ldap_service_pw_file('world.pw', 0644);
	$cf = conf('worldpw', bind_password_file => $world);
	$line = line_of($cf, qr/^bind_password_file = /);
	$r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a world-readable bind_password_file: exit 78');
	like($r->{err}, qr/\Q$cf\E:$line: secret file \Q$world\E is readable by others/,
	     'stderr names pd.conf:line and the file') or diag($r->{err});

	my $missing = "$dir/no-such.pw";
	$cf = conf('missingpw', bind_password_file => $missing);
	$line = line_of($cf, qr/^bind_password_file = /);
	$r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'imap', '-d');
	ok($r->{rc} == 78 || $r->{rc} == 75, "a missing bind_password_file: startup error (exit $r->{rc})");
	like($r->{err}, qr/\Q$cf\E:$line: secret file \Q$missing\E: No such file/,
	     'stderr names pd.conf:line and the file') or diag($r->{err});

	$cf = conf('nofilter', filter => '(uid=alice)');
	$r = run_pd('pd-forker-stdio', '-c', $cf, '-p', 'imap', '-d');
	is($r->{rc}, 78, 'a filter without %u: exit 78');
	like($r->{err}, qr/filter '\(uid=alice\)' has no %u/, 'and says so') or diag($r->{err});
}

cmp_ok(time - $T0, '<', 60, 'the whole file ran in under 60 s');

finish(map({ $_->{password} } values %u, values %b), $WRONG);
