#!/usr/bin/env perl
# mdBook preprocessor that runs after mdbook-katex (see book/book.toml).
#
# mdbook-katex renders each formula to HTML plus MathML and puts the result back
# into the chapter's Markdown. The MathML carries the formula's TeX source in an
# <annotation> and symbols such as `*` and `|` as text, and Markdown then reads
# them as its own syntax: `_` and `*` open emphasis across tags, `|` splits a table
# cell, `\,` loses its backslash. This rewrites every such character in the text
# inside <math>...</math> as a numeric character reference, which Markdown leaves
# alone and the browser reads as the same character.
#
# Protocol: called as `... supports <renderer>` (answer: yes), then with the JSON
# array [context, book] on stdin; prints the book as JSON on stdout. Perl only, no
# modules: perl-base is on every Debian system, like the shell that runs mdBook.
use strict;
use warnings;

exit 0 if @ARGV && $ARGV[0] eq 'supports';

binmode STDIN;
binmode STDOUT;
my $input = do { local $/; <STDIN> };

# The context is a JSON object; skip it, strings and nested objects included.
my $string = qr/"(?:[^"\\]++|\\.)*+"/s;
$input =~ /\A\s*\[\s*(?<ctx>\{(?:[^{}"]++|$string|(?&ctx))*+\})\s*,(?<book>.*)\]\s*\z/s
    or die "mathml-escape: input is not [context, book]\n";
my $book = $+{book};

# Inside the book's JSON a backslash is written `\\`; other JSON escapes (`\"`,
# `\n`, `\uXXXX`) are kept as they are.
sub escape_text {
    my ($text) = @_;
    $text =~ s{(\\\\)|(\\.)|([*_|~`\[\]])}{
        defined $1 ? '&#92;' : defined $2 ? $2 : '&#' . ord($3) . ';'
    }ge;
    return $text;
}

$book =~ s{(<math\b.*?</math>)}{
    my $math = $1;
    $math =~ s{>([^<]+)<}{'>' . escape_text($1) . '<'}ge;
    $math;
}gse;

print $book;
