# SPDX-License-Identifier: MIT
#
# PD::Test::IMAP - raw IMAP commands over PD::Test::Conn.
#
#   my $c = PD::Test::IMAP->new($sock_or_port);
#   my $greeting = $c->getline;
#   my @lines = $c->cmd('a1 NOOP');       # up to the tagged reply
#   my $reply = $c->cmd('a1 NOOP');       # scalar: the tagged reply only

package PD::Test::IMAP;

use strict;
use warnings;
use parent -norequire, 'PD::Test::Conn';
use PD::Test::Conn;

# Lines up to the tagged reply of TAG.
sub tagged {
	my ($self, $tag, $timeout) = @_;
	return $self->lines_until(qr/^\Q$tag\E (OK|NO|BAD)\b/, $timeout);
}

# Send "TAG COMMAND" (one line, CRLF added) and read to its tagged reply.
sub cmd {
	my ($self, $line, $timeout) = @_;
	my ($tag) = $line =~ /^(\S+)/;
	$self->send($line) or return;
	my @l = $self->tagged($tag, $timeout);
	return wantarray ? @l : $l[-1];
}

1;
