// Conformance scenario for the Node.js `mariadb` connector (promise API, pipelining on: its
// default), ClientConformanceIT. Prints key=value lines; a failing step prints
// key=ERROR <code> <message>. query() uses client-side parameters; execute() server-side prepared
// statements, which with pipelining sends COM_STMT_PREPARE and COM_STMT_EXECUTE (statement id
// 0xFFFFFFFF, "the one just prepared") back to back.
const mariadb = require('mariadb');
const { T, WORD, out, step } = require('./node-common.js');

(async () => {
  let c;
  try {
    c = await mariadb.createConnection({
      host: process.env.SLUICE_HOST, port: Number(process.env.SLUICE_PORT), user: process.env.SLUICE_USER,
      password: process.env.SLUICE_PASSWORD, database: process.env.SLUICE_DB, connectTimeout: 10000,
    });
  } catch (e) {
    out('login', `ERROR ${e.errno ?? e.code} ${e.message}`);
    return;
  }
  out('login', 'ok');
  c.on('error', (e) => out('connection_error', `${e.errno ?? e.code} ${String(e.message).split('\n')[0]}`));
  const one = async (sql, params) => (await c.query({ sql, rowsAsArray: true }, params))[0][0];
  await step('db', async () => {
    out('db', await one('SELECT DATABASE()'));
    const r = await c.query({ sql: 'SELECT @@character_set_client, @@character_set_connection, '
        + '@@character_set_results, @@collation_connection', rowsAsArray: true });
    out('charset', r[0].join('/'));
    out('leftover', await one("SELECT IFNULL(@conformance_leftover, 'none')"));
  });
  await step('utf8', async () => {
    await c.query(`INSERT INTO ${T} (k, v) VALUES ('utf8', ?)`, [WORD]);
    const v = await one(`SELECT v FROM ${T} WHERE k = ?`, ['utf8']);
    out('utf8', Buffer.from(v, 'utf8').toString('hex').toUpperCase());
  });
  const PS = "SELECT ? + 1, CONCAT('p', ?)";
  const psRun = async (i, x) => (await c.execute({ sql: PS, rowsAsArray: true }, [i, x]))[0].join(',');
  await step('ps', async () => {
    out('ps', [await psRun(1, 'a'), await psRun(2, 'b'), await psRun(3, 'c')].join('|'));
  });
  await step('commit', async () => {
    await c.beginTransaction();
    await c.query(`INSERT INTO ${T} (k) VALUES ('rb')`);
    await c.rollback();
    out('rollback', await one(`SELECT COUNT(*) FROM ${T} WHERE k = 'rb'`));
    await c.beginTransaction();
    await c.query(`INSERT INTO ${T} (k) VALUES ('cm')`);
    await c.commit();
    out('commit', await one(`SELECT COUNT(*) FROM ${T} WHERE k = 'cm'`));
  });
  await step('insert_id', async () => {
    const r = await c.query(`INSERT INTO ${T} (k) VALUES (?)`, ['ai']);
    out('insert_id', r.insertId);
    out('last_insert_id', await one('SELECT LAST_INSERT_ID()'));
  });
  await step('error', async () => {
    try {
      await c.query('SELECT * FROM no_such_table_here');
      out('error', 'none');
    } catch (e) {
      out('error', e.errno);
    }
    out('after_error', await one('SELECT 1'));
  });
  await step('affected', async () => {
    await c.query(`UPDATE ${T} SET n = 1 WHERE k = 'ai'`);
    const r = await c.query(`UPDATE ${T} SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')`);
    out('affected', r.affectedRows);
  });
  await step('rows', async () => {
    const all = await c.query({ sql: "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
        + "SELECT n, REPEAT('x', 100 + n % 7) FROM s", rowsAsArray: true });
    out('rows', `${all.length}/${all.reduce((a, r) => a + Number(r[0]), 0)}/${all.reduce((a, r) => a + r[1].length, 0)}`);
  });
  await step('ps_again', async () => out('ps_again', await psRun(4, 'd')));
  await step('connid_stable', async () => {
    const a = await one('SELECT CONNECTION_ID()');
    const b = await one('SELECT CONNECTION_ID()');
    out('raw_connid', a);
    out('connid_stable', a === b ? 'yes' : `no ${a} then ${b}`);
    out('connid_thread', Number(a) === Number(c.threadId) ? 'yes' : `no CONNECTION_ID() ${a}, thread id ${c.threadId}`);
  });
  await step('leave', async () => {
    await c.query('SET NAMES latin1');
    await c.query("SET @conformance_leftover = 'yes'");
    out('leave', 'ok');
  });
  await step('close', async () => {
    await c.end();
    out('close', 'ok');
  });
})();
