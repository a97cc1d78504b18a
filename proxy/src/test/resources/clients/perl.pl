# Conformance scenario for Perl DBI drivers (ClientConformanceIT): DBD::MariaDB or DBD::mysql,
# chosen by SLUICE_DRIVER. Prints key=value lines; a failing step prints key=ERROR <code> <message>.
# do() with bind values uses client-side parameters (the DBI default); the ps steps ask the driver
# for server-side prepared statements (mariadb_server_prepare / mysql_server_prepare).
use strict;
use warnings;
use DBI;
use Encode ();

my $drv = $ENV{SLUICE_DRIVER};            # MariaDB or mysql
my $pfx = $drv eq 'MariaDB' ? 'mariadb' : 'mysql';
my $T = $ENV{SLUICE_TABLE};
my $WORD = "h\x{e9}\x{1F42C}";
$| = 1;

sub out { print "$_[0]=$_[1]\n"; }
sub step {
  my ($k, $fn) = @_;
  eval { $fn->(); 1 } or do {
    my $msg = "$@"; $msg =~ s/\n/ /g;
    out($k, 'ERROR ' . ($DBI::err // '?') . ' ' . $msg);
  };
}

my %attr = (RaiseError => 1, PrintError => 0, AutoCommit => 1);
$attr{mysql_enable_utf8mb4} = 1 if $drv eq 'mysql';
my $dbh = eval {
  DBI->connect("DBI:$drv:database=$ENV{SLUICE_DB};host=$ENV{SLUICE_HOST};port=$ENV{SLUICE_PORT}",
      $ENV{SLUICE_USER}, $ENV{SLUICE_PASSWORD}, \%attr);
};
if (!$dbh) {
  my $msg = "$@"; $msg =~ s/\n/ /g;
  out('login', 'ERROR ' . ($DBI::err // '?') . ' ' . $msg);
  exit 0;
}
out('login', 'ok');
sub one { my ($sql, @bind) = @_; return ($dbh->selectrow_array($sql, undef, @bind))[0]; }

step('db', sub {
  out('db', one('SELECT DATABASE()'));
  out('charset', join('/', $dbh->selectrow_array('SELECT @@character_set_client, @@character_set_connection, '
      . '@@character_set_results, @@collation_connection')));
  out('leftover', one("SELECT IFNULL(\@conformance_leftover, 'none')"));
});
step('utf8', sub {
  $dbh->do("INSERT INTO $T (k, v) VALUES ('utf8', ?)", undef, $WORD);
  my $v = one("SELECT v FROM $T WHERE k = ?", 'utf8');
  out('utf8', uc unpack('H*', Encode::encode('UTF-8', $v)));
});
my $ps;
my $ps_run = sub {
  my ($i, $x) = @_;
  $ps->execute($i, $x);
  my @r = $ps->fetchrow_array;
  $ps->finish;
  return join(',', @r);
};
step('ps', sub {
  $ps = $dbh->prepare("SELECT ? + 1, CONCAT('p', ?)", { "${pfx}_server_prepare" => 1 });
  $ps->bind_param(1, undef, DBI::SQL_INTEGER);
  out('ps', join('|', $ps_run->(1, 'a'), $ps_run->(2, 'b'), $ps_run->(3, 'c')));
});
step('commit', sub {
  $dbh->begin_work;
  $dbh->do("INSERT INTO $T (k) VALUES ('rb')");
  $dbh->rollback;
  out('rollback', one("SELECT COUNT(*) FROM $T WHERE k = 'rb'"));
  $dbh->begin_work;
  $dbh->do("INSERT INTO $T (k) VALUES ('cm')");
  $dbh->commit;
  out('commit', one("SELECT COUNT(*) FROM $T WHERE k = 'cm'"));
});
step('insert_id', sub {
  $dbh->do("INSERT INTO $T (k) VALUES (?)", undef, 'ai');
  out('insert_id', $dbh->last_insert_id(undef, undef, undef, undef));
  out('last_insert_id', one('SELECT LAST_INSERT_ID()'));
});
step('error', sub {
  if (eval { $dbh->do('SELECT * FROM no_such_table_here'); 1 }) {
    out('error', 'none');
  } else {
    out('error', $dbh->err);
  }
  out('after_error', one('SELECT 1'));
});
step('affected', sub {
  $dbh->do("UPDATE $T SET n = 1 WHERE k = 'ai'");
  out('affected', $dbh->do("UPDATE $T SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')") + 0);
});
step('rows', sub {
  my $all = $dbh->selectall_arrayref("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
      . "SELECT n, REPEAT('x', 100 + n % 7) FROM s");
  my ($sum, $len) = (0, 0);
  for my $r (@$all) { $sum += $r->[0]; $len += length $r->[1]; }
  out('rows', scalar(@$all) . "/$sum/$len");
});
step('ps_again', sub {
  out('ps_again', $ps_run->(4, 'd'));
});
step('connid_stable', sub {
  my $a = one('SELECT CONNECTION_ID()');
  my $b = one('SELECT CONNECTION_ID()');
  out('raw_connid', $a);
  out('connid_stable', $a == $b ? 'yes' : "no $a then $b");
  my $t = $dbh->{"${pfx}_thread_id"};
  out('connid_thread', $a == $t ? 'yes' : "no CONNECTION_ID() $a, thread id $t");
});
step('leave', sub {
  $dbh->do('SET NAMES latin1');
  $dbh->do("SET \@conformance_leftover = 'yes'");
  out('leave', 'ok');
});
eval {
  undef $ps;
  $dbh->disconnect;
  out('close', 'ok');
  1;
} or out('close', "ERROR $@");
