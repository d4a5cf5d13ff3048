# SPDX-License-Identifier: MIT
#
# PD::Test::POP3 - raw POP3 commands over PD::Test::Conn.
#
#   my $c = PD::Test::POP3->new($sock_or_port);
#   my $greeting = $c->getline;
#   my $reply = $c->cmd('STAT');          # the status line
#   my @lines = $c->multi('CAPA');        # status line, body lines ('.' dropped)

package PD::Test::POP3;

use strict;
use warnings;
use parent -norequire, 'PD::Test::Conn';
use PD::Test::Conn;

sub cmd {
	my ($self, $line, $timeout) = @_;
	$self->send($line) or return undef;
	return $self->getline($timeout);
}

# A multi-line reply: the status line, then (if +OK) the body up to ".",
# dot-unstuffed.
sub multi {
	my ($self, $line, $timeout) = @_;
	my $st = $self->cmd($line, $timeout);
	return () unless defined $st;
	return ($st) unless $st =~ /^\+OK/;
	my @l = ($st);
	while (defined(my $l = $self->getline($timeout))) {
		last if $l eq '.';
		$l =~ s/^\.//;
		push @l, $l;
	}
	return @l;
}

1;
