# Conformance scenario for Ruby mysql2 (libmariadb), ClientConformanceIT. Prints key=value lines; a
# failing step prints key=ERROR <code> <message>. mysql2 has no client-side parameters: values go
# through server-side prepared statements (Client#prepare).
require 'mysql2'
$stdout.sync = true
T = ENV.fetch('SLUICE_TABLE')
WORD = "h\u00e9\u{1F42C}"

def out(k, v) = puts("#{k}=#{v}")

def step(k)
  yield
rescue StandardError => e
  code = e.respond_to?(:error_number) ? e.error_number : '?'
  out(k, "ERROR #{code} #{e.message.tr("\n", ' ')}")
end

begin
  c = Mysql2::Client.new(host: ENV.fetch('SLUICE_HOST'), port: ENV.fetch('SLUICE_PORT').to_i,
                         username: ENV.fetch('SLUICE_USER'), password: ENV.fetch('SLUICE_PASSWORD'),
                         database: ENV.fetch('SLUICE_DB'), encoding: 'utf8mb4')
rescue StandardError => e
  out('login', "ERROR #{e.respond_to?(:error_number) ? e.error_number : '?'} #{e.message}")
  exit 0
end
out('login', 'ok')
one = ->(sql) { c.query(sql, as: :array).first.first }

step('db') do
  out('db', one.('SELECT DATABASE()'))
  out('charset', c.query('SELECT @@character_set_client, @@character_set_connection, @@character_set_results, ' \
                         '@@collation_connection', as: :array).first.join('/'))
  out('leftover', one.("SELECT IFNULL(@conformance_leftover, 'none')"))
end
step('utf8') do
  c.prepare("INSERT INTO #{T} (k, v) VALUES ('utf8', ?)").tap { |s| s.execute(WORD) }.close
  s = c.prepare("SELECT v FROM #{T} WHERE k = ?")
  v = s.execute('utf8', as: :array).first.first
  s.close
  out('utf8', v.encode('UTF-8').unpack1('H*').upcase)
end
ps = nil
ps_run = ->(i, x) { ps.execute(i, x, as: :array).first.join(',') }
step('ps') do
  ps = c.prepare("SELECT ? + 1, CONCAT('p', ?)")
  out('ps', [ps_run.(1, 'a'), ps_run.(2, 'b'), ps_run.(3, 'c')].join('|'))
end
step('commit') do
  c.query('BEGIN')
  c.query("INSERT INTO #{T} (k) VALUES ('rb')")
  c.query('ROLLBACK')
  out('rollback', one.("SELECT COUNT(*) FROM #{T} WHERE k = 'rb'"))
  c.query('BEGIN')
  c.query("INSERT INTO #{T} (k) VALUES ('cm')")
  c.query('COMMIT')
  out('commit', one.("SELECT COUNT(*) FROM #{T} WHERE k = 'cm'"))
end
step('insert_id') do
  s = c.prepare("INSERT INTO #{T} (k) VALUES (?)")
  s.execute('ai')
  out('insert_id', s.last_id)
  s.close
  out('last_insert_id', one.('SELECT LAST_INSERT_ID()'))
end
step('error') do
  begin
    c.query('SELECT * FROM no_such_table_here')
    out('error', 'none')
  rescue Mysql2::Error => e
    out('error', e.error_number)
  end
  out('after_error', one.('SELECT 1'))
end
step('affected') do
  c.query("UPDATE #{T} SET n = 1 WHERE k = 'ai'")
  c.query("UPDATE #{T} SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')")
  out('affected', c.affected_rows)
end
step('rows') do
  all = c.query("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) " \
                "SELECT n, REPEAT('x', 100 + n % 7) FROM s", as: :array).to_a
  out('rows', "#{all.size}/#{all.sum { |r| r[0].to_i }}/#{all.sum { |r| r[1].length }}")
end
step('ps_again') { out('ps_again', ps_run.(4, 'd')) }
step('connid_stable') do
  a = one.('SELECT CONNECTION_ID()')
  b = one.('SELECT CONNECTION_ID()')
  out('raw_connid', a)
  out('connid_stable', a == b ? 'yes' : "no #{a} then #{b}")
  t = c.thread_id
  out('connid_thread', a.to_i == t ? 'yes' : "no CONNECTION_ID() #{a}, thread id #{t}")
end
step('leave') do
  c.query('SET NAMES latin1')
  c.query("SET @conformance_leftover = 'yes'")
  out('leave', 'ok')
end
begin
  ps&.close
  c.close
  out('close', 'ok')
rescue StandardError => e
  out('close', "ERROR #{e.message}")
end
