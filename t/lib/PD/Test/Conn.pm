# SPDX-License-Identifier: MIT
#
# PD::Test::Conn - raw line I/O with timeouts over a socket to pd (a TCP
# connection or the socketpair of PD::Test::stdio_session).  Bytes are sent
# exactly as given; lines are returned without their CRLF.  Every read has a
# timeout, so a server that hangs fails the test instead of stalling it.
# PD::Test::IMAP and PD::Test::POP3 add the protocol's command shapes.
# The socket may be an IO::Socket::SSL (implicit TLS), and start_tls turns
# a plain connection into one (after STARTTLS/STLS).

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
	# TLS: non-blocking, so a read that only consumes a TLS record without
	# data for us (a session ticket) cannot hang past the timeout.
	$s->blocking(0) if $s->isa('IO::Socket::SSL');
	return bless { s => $s, buf => '', eof => 0, timeout => $o{timeout} // $TIMEOUT }, $class;
}

sub is_tls { $_[0]{s}->isa('IO::Socket::SSL') }

# The client side of a TLS handshake on this connection, with the
# IO::Socket::SSL options OPTS (PD::Test::tls_options).  False, with the
# reason in {tls_error}, if it fails or if the server sent bytes we have not
# read yet (they would be plaintext taken for TLS).
sub start_tls {
	my ($self, @opts) = @_;
	if ($self->{buf} ne '') {
		$self->{tls_error} = "unread plaintext before the handshake: '$self->{buf}'";
		return 0;
	}
	require IO::Socket::SSL;
	no warnings 'once';
	$self->{s}->blocking(1);
	my $ssl = IO::Socket::SSL->start_SSL($self->{s}, @opts, Timeout => $self->{timeout});
	if (!$ssl) {
		$self->{tls_error} = ($IO::Socket::SSL::SSL_ERROR || "$!") . '';
		return 0;
	}
	$self->{s} = $ssl;
	$ssl->blocking(0);
	return 1;
}

sub sock { $_[0]{s} }
sub at_eof { $_[0]{eof} }

# Send BYTES as they are.  False if the peer stopped reading or went away.
sub send_raw {
	my ($self, $bytes) = @_;
	die "send_raw: takes one string\n" unless @_ == 2;
	my $sel = IO::Select->new($self->{s});
	my $end = time + $self->{timeout};
	my ($off, $len) = (0, length $bytes);
	# an offset, not substr: a 20 MB message in 16 KB TLS records must not
	# be copied a thousand times
	while ($off < $len) {
		return 0 unless $sel->can_write($end - time);
		my $n = syswrite($self->{s}, $bytes, $len - $off, $off);
		if (!defined $n) {
			next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
			return 0;
		}
		$off += $n;
		$end = time + $self->{timeout};	# the timeout is for progress
	}
	return 1;
}

# Send LINE followed by CRLF.
sub send { $_[0]->send_raw("$_[1]\r\n") }

sub _fill {
	my ($self, $end) = @_;
	return 0 if $self->{eof};
	my $left = $end - time;
	return 0 if $left <= 0;
	# decrypted bytes already inside the TLS layer do not make the fd readable
	my $pending = $self->{s}->can('pending') && $self->{s}->pending;
	return 0 unless $pending || IO::Select->new($self->{s})->can_read($left);
	my $n = sysread($self->{s}, my $chunk, 65536);
	if (!defined $n) {
		return 1 if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
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

# Exactly N bytes (an IMAP literal, a big message), or undef if they do
# not all arrive with no more than TIMEOUT seconds between two reads.
sub read_exact {
	my ($self, $n, $timeout) = @_;
	$timeout //= $self->{timeout};
	while (length($self->{buf}) < $n) {
		$self->_fill(time + $timeout) or return undef;
	}
	return substr($self->{buf}, 0, $n, '');
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
