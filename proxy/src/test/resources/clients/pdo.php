<?php
// Conformance scenario for PHP PDO_mysql (mysqlnd), ClientConformanceIT. Prints key=value lines; a
// failing step prints key=ERROR <code> <message>. PDO emulates prepared statements by default
// (client-side); the ps steps turn emulation off to get server-side prepared statements.
$T = getenv('SLUICE_TABLE');
$WORD = "h\u{e9}\u{1F42C}";
function out($k, $v) { echo "$k=$v\n"; }
function code($e) { return $e instanceof PDOException && isset($e->errorInfo[1]) ? $e->errorInfo[1] : $e->getCode(); }
function step($k, $fn) {
  try { $fn(); } catch (Throwable $e) { out($k, 'ERROR ' . code($e) . ' ' . str_replace("\n", ' ', $e->getMessage())); }
}
function one($p, $sql) { return $p->query($sql)->fetchColumn(); }

try {
  $p = new PDO('mysql:host=' . getenv('SLUICE_HOST') . ';port=' . getenv('SLUICE_PORT') . ';dbname='
      . getenv('SLUICE_DB') . ';charset=utf8mb4', getenv('SLUICE_USER'), getenv('SLUICE_PASSWORD'),
      [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
} catch (Throwable $e) {
  out('login', 'ERROR ' . code($e) . ' ' . $e->getMessage());
  exit(0);
}
out('login', 'ok');

step('db', function () use ($p) {
  out('db', one($p, 'SELECT DATABASE()'));
  out('charset', implode('/', $p->query('SELECT @@character_set_client, @@character_set_connection, '
      . '@@character_set_results, @@collation_connection')->fetch(PDO::FETCH_NUM)));
  out('leftover', one($p, "SELECT IFNULL(@conformance_leftover, 'none')"));
});
step('utf8', function () use ($p, $T, $WORD) {
  $p->prepare("INSERT INTO $T (k, v) VALUES ('utf8', ?)")->execute([$WORD]);
  $s = $p->prepare("SELECT v FROM $T WHERE k = ?");
  $s->execute(['utf8']);
  out('utf8', strtoupper(bin2hex($s->fetchColumn())));
});
$ps = null;
$psRun = function ($i, $x) use (&$ps) {
  $ps->bindValue(1, $i, PDO::PARAM_INT);
  $ps->bindValue(2, $x, PDO::PARAM_STR);
  $ps->execute();
  $r = implode(',', $ps->fetch(PDO::FETCH_NUM));
  $ps->closeCursor();
  return $r;
};
step('ps', function () use ($p, &$ps, $psRun) {
  $ps = $p->prepare("SELECT ? + 1, CONCAT('p', ?)", [PDO::ATTR_EMULATE_PREPARES => false]);
  out('ps', $psRun(1, 'a') . '|' . $psRun(2, 'b') . '|' . $psRun(3, 'c'));
});
step('commit', function () use ($p, $T) {
  $p->beginTransaction();
  $p->exec("INSERT INTO $T (k) VALUES ('rb')");
  $p->rollBack();
  out('rollback', one($p, "SELECT COUNT(*) FROM $T WHERE k = 'rb'"));
  $p->beginTransaction();
  $p->exec("INSERT INTO $T (k) VALUES ('cm')");
  $p->commit();
  out('commit', one($p, "SELECT COUNT(*) FROM $T WHERE k = 'cm'"));
});
step('insert_id', function () use ($p, $T) {
  $p->prepare("INSERT INTO $T (k) VALUES (?)")->execute(['ai']);
  out('insert_id', $p->lastInsertId());
  out('last_insert_id', one($p, 'SELECT LAST_INSERT_ID()'));
});
step('error', function () use ($p) {
  try {
    $p->query('SELECT * FROM no_such_table_here');
    out('error', 'none');
  } catch (PDOException $e) {
    out('error', code($e));
  }
  out('after_error', one($p, 'SELECT 1'));
});
step('affected', function () use ($p, $T) {
  $p->exec("UPDATE $T SET n = 1 WHERE k = 'ai'");
  out('affected', $p->exec("UPDATE $T SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')"));
});
step('rows', function () use ($p) {
  $r = $p->query("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
      . "SELECT n, REPEAT('x', 100 + n % 7) FROM s");
  $count = 0; $sum = 0; $len = 0;
  while ($row = $r->fetch(PDO::FETCH_NUM)) { $count++; $sum += (int) $row[0]; $len += strlen($row[1]); }
  out('rows', "$count/$sum/$len");
});
step('ps_again', function () use ($psRun) {
  out('ps_again', $psRun(4, 'd'));
});
step('connid_stable', function () use ($p) {
  $a = one($p, 'SELECT CONNECTION_ID()');
  $b = one($p, 'SELECT CONNECTION_ID()');
  out('raw_connid', $a);
  out('connid_stable', $a == $b ? 'yes' : "no $a then $b");
});
step('leave', function () use ($p) {
  $p->exec('SET NAMES latin1');
  $p->exec("SET @conformance_leftover = 'yes'");
  out('leave', 'ok');
});
$ps = null;
$p = null; // PDO closes the connection when the last reference goes
out('close', 'ok');
