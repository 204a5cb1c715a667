# 038_cli_help.pl
#	Every command's --help (issue 9, point 5): exit status 0, nothing on
#	stderr, a usage line, and every option the command accepts.  The
#	options are read from the program's own option tables (the shared ones
#	in src/bin/command.c and each command's CliCommandSpec), so an option
#	added without its line in --help fails here (--progress, which the
#	preamble adds to the specs that ask for it, included); the commands are those
#	"pg_dr --help" lists, so a command without a spec fails too.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

# ---- the option tables, from the source
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "could not open \"$path\": $!";
	local $/;
	return scalar <$fh>;
}

# name => [ long options ], from every "struct option NAME[] = { ... };"
my %tables;
# short option letter => its long option, per table
my %letters;
# command => { table => NAME, short => "b:D:" }
my %specs;
for my $file (glob('src/bin/*.c'))
{
	my $src = slurp($file);
	while ($src =~ /struct option (\w+)\[\] = \{(.*?)\n\};/sg)
	{
		my ($name, $body) = ($1, $2);
		$tables{$name} = [ $body =~ /\{"([a-z-]+)",/g ];
		my %pairs = $body =~ /\{"([a-z-]+)",[^}]*'([A-Za-z])'\}/g;
		$letters{$name} = { reverse %pairs };
	}
	while ($src =~ /CliCommandSpec (\w+) = \{(.*?)\n\};/sg)
	{
		my $body = $2;
		my ($command) = $body =~ /\.name = "([a-z-]+)"/;
		my ($table) = $body =~ /\.options = (\w+)/;
		my ($short) = $body =~ /\.shortOptions = "([^"]*)"/;
		# a long command takes the shared --progress too
		my $progress = $body =~ /\.progress = true/ ? 1 : 0;
		$specs{$command} =
		  { table => $table, short => $short // '', progress => $progress };
	}
}
my $shared = $tables{cliCommandOptions};
ok($shared && @$shared >= 3, 'the shared option table is found in src/bin/command.c')
  or BAIL_OUT('the option tables of src/bin could not be parsed');
my ($shared_short) = slurp('src/bin/command.c') =~ /#define CLI_COMMAND_SHORT\s+"([^"]+)"/;
ok(defined $shared_short, 'the shared short options are found');

# ---- the commands, from pg_dr --help
my ($stdout, $stderr);
IPC::Run::run([ 'pg_dr', '--help' ], '>', \$stdout, '2>', \$stderr);
my ($list) = $stdout =~ /^Commands:\n(.*?)\n\n/ms;
my @commands = $list =~ /^\s+([a-z-]+)\s/mg;
cmp_ok(scalar @commands, '>=', 8, 'pg_dr --help lists the commands');
ok((grep { $_ eq 'check' } @commands), 'pg_dr --help lists check');
is_deeply([ sort keys %specs ], [ sort @commands ],
	'every listed command has a CliCommandSpec, and every spec is listed');

for my $command (@commands)
{
	my $spec = $specs{$command};
	next unless $spec;
	my @long = (@$shared, @{ $tables{ $spec->{table} } // [] },
		$spec->{progress} ? ('progress') : ());
	my @short = ($shared_short . $spec->{short}) =~ /([A-Za-z])/g;
	ok(defined $tables{ $spec->{table} }, "$command: its own option table is found");

	my ($out, $err);
	my $ok = IPC::Run::run([ 'pg_dr', $command, '--help' ], '>', \$out, '2>', \$err);
	ok($ok, "$command --help: exit status 0");
	is($err, '', "$command --help: nothing on stderr");
	like($out, qr/^Usage:\n  pg_dr \Q$command\E \[--config FILE\]/m,
		"$command --help: usage line, --config optional");
	like($out, qr/PG_DR_CONFIG.*\/etc\/pg_dr\.conf/s,
		"$command --help: says where the configuration file is looked for");
	for my $opt (@long)
	{
		like($out, qr/^\s+(?:-[A-Za-z?], )?--\Q$opt\E\b/m,
			"$command --help lists --$opt");
	}
	my %letter = (%{ $letters{cliCommandOptions} },
		%{ $letters{ $spec->{table} } // {} });
	for my $c (@short)
	{
		my $opt = $letter{$c} // '(none)';
		like($out, qr/^\s+-\Q$c\E, --\Q$opt\E\b/m, "$command --help lists -$c as --$opt");
	}

	# the other ways to ask print the same
	for my $how ([ 'help', $command ], [ $command, '-h' ], [ $command, '-?' ])
	{
		my ($out2, $err2);
		IPC::Run::run([ 'pg_dr', @$how ], '>', \$out2, '2>', \$err2);
		is($out2, $out, "pg_dr @$how prints the same help");
	}
}

done_testing();
