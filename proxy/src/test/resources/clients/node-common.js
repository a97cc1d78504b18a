// What the three Node.js conformance scripts (node-mysql.js, node-mysql2.js, node-mariadb.js) share:
// the table, the word every client stores, the key=value output, and the step runner.
const T = process.env.SLUICE_TABLE;
const WORD = 'h\u00e9\u{1F42C}';
const out = (k, v) => console.log(`${k}=${v}`);
// A step that gets no answer within 10 s (a protocol desync; a session-mode client may first queue
// for a backend) ends the run: what follows would hang too.
async function step(k, fn) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no answer within 10 s'), { code: 'TIMEOUT' })), 10000);
  });
  try {
    await Promise.race([fn(), timeout]);
  } catch (e) {
    if (e.code === 'TIMEOUT') {
      out(k, 'ERROR timeout no answer within 10 s');
      process.exit(3);
    }
    out(k, `ERROR ${e.errno ?? e.code ?? '?'} ${String(e.message).replace(/\n/g, ' ')}`);
  } finally {
    clearTimeout(timer);
  }
}

module.exports = { T, WORD, out, step };
