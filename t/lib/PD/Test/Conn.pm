# SPDX-License-Identifier: MIT
#
# PD::Test::Conn - raw line I/O with timeouts over a socket to pd (a TCP
# connection or the socketpair of PD::Test::stdio_session).  Bytes are sent
# exactly as given; lines are returned without their CRLF.  Every read has a
# timeout, so a server that hangs fails the test instead of stalling it.
# PD::Test::IMAP and PD::Test::POP3 add the protocol's command shapes.

package PD::Test::Conn;

use strict;
use warnings;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

our $TIMEOUT = 5;

# new(SOCKET) or new(PORT): wraps a socket or connects to 127.0.0.1:PORT.
sub new {
	my ($class, $s, %o) = @_;
	if (!ref $s) {
		my $port = $s;
		$s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
					   Proto => 'tcp', Timeout => $TIMEOUT)
			or die "connect 127.0.0.1:$port: $!\n";
	}
	binmode $s;
	return bless { s => $s, buf => '', eof => 0, timeout => $o{timeout} // $TIMEOUT }, $class;
}

sub sock { $_[0]{s} }
sub at_eof { $_[0]{eof} }

# Send BYTES as they are.  False if the peer stopped reading or went away.
sub send_raw {
	my ($self, $bytes) = @_;
	die "send_raw: takes one string\n" unless @_ == 2;
	my $sel = IO::Select->new($self->{s});
	my $end = time + $self->{timeout};
	while (length $bytes) {
		return 0 unless $sel->can_write($end - time);
		my $n = syswrite($self->{s}, $bytes);
		if (!defined $n) {
			next if $! == EINTR || $! == EAGAIN;
			return 0;
		}
		substr($bytes, 0, $n, '');
	}
	return 1;
}

# Send LINE followed by CRLF.
sub send { $_[0]->send_raw("$_[1]\r\n") }

sub _fill {
	my ($self, $end) = @_;
	return 0 if $self->{eof};
	my $left = $end - time;
	return 0 if $left <= 0 || !IO::Select->new($self->{s})->can_read($left);
	my $n = sysread($self->{s}, my $chunk, 65536);
	if (!defined $n) {
		return 1 if $! == EINTR || $! == EAGAIN;
		$self->{eof} = 1;	# ECONNRESET and the like end the stream
		return 0;
	}
	if ($n == 0) {
		$self->{eof} = 1;
		return 0;
	}
	$self->{buf} .= $chunk;
	return 1;
}

# The next line (without CRLF), or undef on timeout or end of stream.
sub getline {
	my ($self, $timeout) = @_;
	my $end = time + ($timeout // $self->{timeout});
	while (1) {
		if ((my $i = index($self->{buf}, "\n")) >= 0) {
			my $l = substr($self->{buf}, 0, $i + 1, '');
			$l =~ s/\r?\n\z//;
			return $l;
		}
		$self->_fill($end) or return undef;
	}
}

# Lines up to and including the first one matching RE; () if none arrives in
# time.  In scalar context the matching line.
sub lines_until {
	my ($self, $re, $timeout) = @_;
	my $end = time + ($timeout // $self->{timeout});
	my @l;
	while (defined(my $l = $self->getline($end - time))) {
		push @l, $l;
		return wantarray ? @l : $l if $l =~ $re;
	}
	$self->{last_lines} = \@l;	# what came before the timeout, for diag
	return;
}

# Everything the server sends until it closes the connection, or undef if it
# is still open after TIMEOUT seconds.
sub read_to_eof {
	my ($self, $timeout) = @_;
	my $end = time + ($timeout // $self->{timeout});
	1 while $self->_fill($end);
	return undef unless $self->{eof};
	my $all = $self->{buf};
	$self->{buf} = '';
	return $all;
}

# True if nothing is pending and the connection is still open after WAIT s.
sub quiet {
	my ($self, $wait) = @_;
	my $end = time + ($wait // 0.3);
	1 while $self->_fill($end);
	return !$self->{eof} && $self->{buf} eq '';
}

sub close { CORE::close($_[0]{s}) }

1;
