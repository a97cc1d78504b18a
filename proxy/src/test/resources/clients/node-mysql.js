// Conformance scenario for the Node.js `mysql` driver, ClientConformanceIT. Prints key=value lines;
// a failing step prints key=ERROR <code> <message>. `mysql` has only client-side parameters (no
// server-side prepared statements) and mysql_native_password.
const mysql = require('mysql');
const { T, WORD, out, step } = require('./node-common.js');

const c = mysql.createConnection({
  host: process.env.SLUICE_HOST, port: Number(process.env.SLUICE_PORT), user: process.env.SLUICE_USER,
  password: process.env.SLUICE_PASSWORD, database: process.env.SLUICE_DB, charset: 'UTF8MB4_GENERAL_CI',
});
const q = (sql, params) => new Promise((resolve, reject) =>
  c.query(sql, params, (err, res) => (err ? reject(err) : resolve(res))));
const one = async (sql, params) => Object.values((await q(sql, params))[0])[0];

(async () => {
  try {
    await new Promise((resolve, reject) => c.connect((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    out('login', `ERROR ${e.errno ?? e.code} ${e.message}`);
    c.destroy();
    return;
  }
  out('login', 'ok');
  c.on('error', (e) => out('connection_error', `${e.errno ?? e.code} ${String(e.message).split('\n')[0]}`));
  await step('db', async () => {
    out('db', await one('SELECT DATABASE()'));
    const r = await q('SELECT @@character_set_client AS a, @@character_set_connection AS b, '
        + '@@character_set_results AS c, @@collation_connection AS d');
    out('charset', Object.values(r[0]).join('/'));
    out('leftover', await one("SELECT IFNULL(@conformance_leftover, 'none')"));
  });
  await step('utf8', async () => {
    await q(`INSERT INTO ${T} (k, v) VALUES ('utf8', ?)`, [WORD]);
    const v = await one(`SELECT v FROM ${T} WHERE k = ?`, ['utf8']);
    out('utf8', Buffer.from(v, 'utf8').toString('hex').toUpperCase());
  });
  await step('commit', async () => {
    await q('BEGIN');
    await q(`INSERT INTO ${T} (k) VALUES ('rb')`);
    await q('ROLLBACK');
    out('rollback', await one(`SELECT COUNT(*) FROM ${T} WHERE k = 'rb'`));
    await q('BEGIN');
    await q(`INSERT INTO ${T} (k) VALUES ('cm')`);
    await q('COMMIT');
    out('commit', await one(`SELECT COUNT(*) FROM ${T} WHERE k = 'cm'`));
  });
  await step('insert_id', async () => {
    const r = await q(`INSERT INTO ${T} (k) VALUES (?)`, ['ai']);
    out('insert_id', r.insertId);
    out('last_insert_id', await one('SELECT LAST_INSERT_ID()'));
  });
  await step('error', async () => {
    try {
      await q('SELECT * FROM no_such_table_here');
      out('error', 'none');
    } catch (e) {
      out('error', e.errno);
    }
    out('after_error', await one('SELECT 1'));
  });
  await step('affected', async () => {
    await q(`UPDATE ${T} SET n = 1 WHERE k = 'ai'`);
    const r = await q(`UPDATE ${T} SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')`);
    out('affected', r.affectedRows);
  });
  await step('rows', async () => {
    const all = await q("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
        + "SELECT n, REPEAT('x', 100 + n % 7) AS x FROM s");
    out('rows', `${all.length}/${all.reduce((a, r) => a + Number(r.n), 0)}/${all.reduce((a, r) => a + r.x.length, 0)}`);
  });
  await step('connid_stable', async () => {
    const a = await one('SELECT CONNECTION_ID()');
    const b = await one('SELECT CONNECTION_ID()');
    out('raw_connid', a);
    out('connid_stable', a === b ? 'yes' : `no ${a} then ${b}`);
    out('connid_thread', Number(a) === c.threadId ? 'yes' : `no CONNECTION_ID() ${a}, thread id ${c.threadId}`);
  });
  await step('leave', async () => {
    await q('SET NAMES latin1');
    await q("SET @conformance_leftover = 'yes'");
    out('leave', 'ok');
  });
  await step('close', async () => {
    await new Promise((resolve, reject) => c.end((err) => (err ? reject(err) : resolve())));
    out('close', 'ok');
  });
})();
