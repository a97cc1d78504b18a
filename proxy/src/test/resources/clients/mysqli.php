<?php
// Conformance scenario for PHP mysqli (mysqlnd), ClientConformanceIT. Prints key=value lines; a
// failing step prints key=ERROR <code> <message>. mysqli's parameters are server-side prepared
// statements; PHP 8.1+ reports errors as mysqli_sql_exception.
$T = getenv('SLUICE_TABLE');
$WORD = "h\u{e9}\u{1F42C}";
function out($k, $v) { echo "$k=$v\n"; }
function step($k, $fn) {
  try { $fn(); } catch (Throwable $e) { out($k, 'ERROR ' . $e->getCode() . ' ' . str_replace("\n", ' ', $e->getMessage())); }
}
function one($m, $sql) { return $m->query($sql)->fetch_row()[0]; }

mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
try {
  $m = new mysqli(getenv('SLUICE_HOST'), getenv('SLUICE_USER'), getenv('SLUICE_PASSWORD'), getenv('SLUICE_DB'),
      (int) getenv('SLUICE_PORT'));
  $m->set_charset('utf8mb4');
} catch (Throwable $e) {
  out('login', 'ERROR ' . $e->getCode() . ' ' . $e->getMessage());
  exit(0);
}
out('login', 'ok');

step('db', function () use ($m) {
  out('db', one($m, 'SELECT DATABASE()'));
  out('charset', implode('/', $m->query('SELECT @@character_set_client, @@character_set_connection, '
      . '@@character_set_results, @@collation_connection')->fetch_row()));
  out('leftover', one($m, "SELECT IFNULL(@conformance_leftover, 'none')"));
});
step('utf8', function () use ($m, $T, $WORD) {
  $s = $m->prepare("INSERT INTO $T (k, v) VALUES ('utf8', ?)");
  $s->bind_param('s', $WORD);
  $s->execute();
  $s->close();
  $s = $m->prepare("SELECT v FROM $T WHERE k = ?");
  $k = 'utf8';
  $s->bind_param('s', $k);
  $s->execute();
  out('utf8', strtoupper(bin2hex($s->get_result()->fetch_row()[0])));
  $s->close();
});
$ps = null;
$psRun = function ($i, $p) use (&$ps) {
  $ps->bind_param('is', $i, $p);
  $ps->execute();
  return implode(',', $ps->get_result()->fetch_row());
};
step('ps', function () use ($m, &$ps, $psRun) {
  $ps = $m->prepare("SELECT ? + 1, CONCAT('p', ?)");
  out('ps', $psRun(1, 'a') . '|' . $psRun(2, 'b') . '|' . $psRun(3, 'c'));
});
step('commit', function () use ($m, $T) {
  $m->begin_transaction();
  $m->query("INSERT INTO $T (k) VALUES ('rb')");
  $m->rollback();
  out('rollback', one($m, "SELECT COUNT(*) FROM $T WHERE k = 'rb'"));
  $m->begin_transaction();
  $m->query("INSERT INTO $T (k) VALUES ('cm')");
  $m->commit();
  out('commit', one($m, "SELECT COUNT(*) FROM $T WHERE k = 'cm'"));
});
step('insert_id', function () use ($m, $T) {
  $s = $m->prepare("INSERT INTO $T (k) VALUES (?)");
  $k = 'ai';
  $s->bind_param('s', $k);
  $s->execute();
  out('insert_id', $s->insert_id);
  $s->close();
  out('last_insert_id', one($m, 'SELECT LAST_INSERT_ID()'));
});
step('error', function () use ($m) {
  try {
    $m->query('SELECT * FROM no_such_table_here');
    out('error', 'none');
  } catch (mysqli_sql_exception $e) {
    out('error', $e->getCode());
  }
  out('after_error', one($m, 'SELECT 1'));
});
step('affected', function () use ($m, $T) {
  $m->query("UPDATE $T SET n = 1 WHERE k = 'ai'");
  $m->query("UPDATE $T SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')");
  out('affected', $m->affected_rows);
});
step('rows', function () use ($m) {
  $r = $m->query("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
      . "SELECT n, REPEAT('x', 100 + n % 7) FROM s");
  $count = 0; $sum = 0; $len = 0;
  while ($row = $r->fetch_row()) { $count++; $sum += (int) $row[0]; $len += strlen($row[1]); }
  out('rows', "$count/$sum/$len");
});
step('ps_again', function () use ($psRun) {
  out('ps_again', $psRun(4, 'd'));
});
step('connid_stable', function () use ($m) {
  $a = one($m, 'SELECT CONNECTION_ID()');
  $b = one($m, 'SELECT CONNECTION_ID()');
  out('raw_connid', $a);
  out('connid_stable', $a == $b ? 'yes' : "no $a then $b");
  out('connid_thread', $a == $m->thread_id ? 'yes' : "no CONNECTION_ID() $a, thread id {$m->thread_id}");
});
step('leave', function () use ($m) {
  $m->query('SET NAMES latin1');
  $m->query("SET @conformance_leftover = 'yes'");
  out('leave', 'ok');
});
try {
  $ps->close();
  $m->close();
  out('close', 'ok');
} catch (Throwable $e) {
  out('close', 'ERROR ' . $e->getMessage());
}
