# Conformance scenario for Python DB-API drivers (ClientConformanceIT): PyMySQL or MySQLdb
# (mysqlclient), chosen by SLUICE_DRIVER. Prints key=value lines; a failing step prints
# key=ERROR <code> <message>. Both drivers use client-side parameters and autocommit off (their
# defaults), so writes are committed explicitly, as applications do.
import os

if os.environ["SLUICE_DRIVER"] == "pymysql":
    import pymysql as driver
else:
    import MySQLdb as driver

T = os.environ["SLUICE_TABLE"]
WORD = "h\u00e9\U0001F42C"


def out(key, value):
    print(f"{key}={value}", flush=True)


def step(key, fn):
    try:
        fn()
    except Exception as e:  # every failure is reported on the step's own line
        code = e.args[0] if e.args else "?"
        out(key, f"ERROR {code} {e}".replace("\n", " "))


def one(cur, sql, params=None):
    cur.execute(sql, params)
    return cur.fetchone()[0]


try:
    if os.environ["SLUICE_DRIVER"] == "pymysql":
        conn = driver.connect(host=os.environ["SLUICE_HOST"], port=int(os.environ["SLUICE_PORT"]),
                              user=os.environ["SLUICE_USER"], password=os.environ["SLUICE_PASSWORD"],
                              database=os.environ["SLUICE_DB"], charset="utf8mb4")
        thread_id = lambda: conn.thread_id()
    else:
        conn = driver.connect(host=os.environ["SLUICE_HOST"], port=int(os.environ["SLUICE_PORT"]),
                              user=os.environ["SLUICE_USER"], passwd=os.environ["SLUICE_PASSWORD"],
                              db=os.environ["SLUICE_DB"], charset="utf8mb4")
        thread_id = lambda: conn.thread_id()
except Exception as e:
    out("login", f"ERROR {e.args[0] if e.args else '?'} {e}".replace("\n", " "))
    raise SystemExit(0)
out("login", "ok")
cur = conn.cursor()


def session():
    out("db", one(cur, "SELECT DATABASE()"))
    cur.execute("SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection")
    out("charset", "/".join(str(x) for x in cur.fetchone()))
    leftover = one(cur, "SELECT IFNULL(@conformance_leftover, 'none')")  # binary: a user variable's type
    out("leftover", leftover.decode() if isinstance(leftover, bytes) else leftover)


def utf8():
    cur.execute(f"INSERT INTO {T} (k, v) VALUES ('utf8', %s)", (WORD,))
    conn.commit()
    v = one(cur, f"SELECT v FROM {T} WHERE k = %s", ("utf8",))
    out("utf8", v.encode("utf-8").hex().upper())


def transaction():
    conn.begin()
    cur.execute(f"INSERT INTO {T} (k) VALUES ('rb')")
    conn.rollback()
    out("rollback", one(cur, f"SELECT COUNT(*) FROM {T} WHERE k = 'rb'"))
    conn.begin()
    cur.execute(f"INSERT INTO {T} (k) VALUES ('cm')")
    conn.commit()
    out("commit", one(cur, f"SELECT COUNT(*) FROM {T} WHERE k = 'cm'"))


def insert_id():
    cur.execute(f"INSERT INTO {T} (k) VALUES (%s)", ("ai",))
    out("insert_id", cur.lastrowid)
    out("last_insert_id", one(cur, "SELECT LAST_INSERT_ID()"))
    conn.commit()


def error():
    try:
        cur.execute("SELECT * FROM no_such_table_here")
        out("error", "none")
    except driver.Error as e:
        out("error", e.args[0])
    out("after_error", one(cur, "SELECT 1"))


def affected():
    cur.execute(f"UPDATE {T} SET n = 1 WHERE k = 'ai'")
    n = cur.execute(f"UPDATE {T} SET n = 1 WHERE k IN ('utf8', 'cm', 'ai')")
    out("affected", n)
    conn.commit()


def rows():
    cur.execute("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) "
                "SELECT n, REPEAT('x', 100 + n % 7) FROM s")
    got = cur.fetchall()
    out("rows", f"{len(got)}/{sum(int(r[0]) for r in got)}/{sum(len(r[1]) for r in got)}")


def connid():
    a = one(cur, "SELECT CONNECTION_ID()")
    b = one(cur, "SELECT CONNECTION_ID()")
    out("raw_connid", a)
    out("connid_stable", "yes" if a == b else f"no {a} then {b}")
    t = thread_id()
    out("connid_thread", "yes" if int(a) == int(t) else f"no CONNECTION_ID() {a}, thread id {t}")


def leave():
    cur.execute("SET NAMES latin1")
    cur.execute("SET @conformance_leftover = 'yes'")
    out("leave", "ok")


step("db", session)
step("utf8", utf8)
step("commit", transaction)
step("insert_id", insert_id)
step("error", error)
step("affected", affected)
step("rows", rows)
step("connid_stable", connid)
step("leave", leave)
try:
    cur.close()
    conn.close()
    out("close", "ok")
except Exception as e:
    out("close", f"ERROR {e}")
