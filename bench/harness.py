#!/usr/bin/env python3
"""Sluice benchmark harness (issue 7). Started by bench/run.sh; standard library only.

Phases, each against one throwaway MariaDB on 127.0.0.1:
  matrix  sysbench oltp_point_select and oltp_read_write at 1/8/32/128 threads, interleaved
          direct, Sluice (session), HAProxy (mode tcp) [, Sluice (transaction)], R repeats, each
          starting one target later than the last
  storm   client threads at 4x and 20x max_connections, direct vs through Sluice
  storm-split  the storm again with the server on a CPU of its own and Sluice and the load client
          on the others, as when the database has its own host (needs 2 CPUs)
  churn   a new connection per transaction, 200 threads against max_connections 50
  memory  Sluice RSS and heap after GC with 1,000 / 5,000 / 10,000 idle logged-in clients
  multiplex  5,000 mostly idle clients on 20 backends in transaction mode, running point selects
          now and then: errors, latency, the server's peak connections, heap per client
  jmh     JMH microbenchmarks of the hot path with -prof gc (no server; runs last)
  cluster (opt-in, not in the default list) a GTID primary and two read-only replicas, each its own
          server: sysbench point selects and read/write at 8 and 32 threads against the primary,
          through Sluice (transaction mode) on the primary only and on all three (sluice.servers);
          each server's CPU and Com_select/insert/update deltas, so the read share of each replica shows

Every process it starts is recorded in WORK/pids (run.sh's trap kills what is left) and stopped
here on exit; every wait and loop is bounded in time.
"""
import argparse
import atexit
import datetime
import itertools
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOST = "127.0.0.1"
DB_USER, DB_PASS, DB_NAME = "sbtest", "sbpass", "sbtest"

# As localdb's LocalServer.INNODB_OPTIONS (used to initialise and to run).
INNODB_OPTIONS = ["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--innodb-doublewrite=0",
                  "--innodb-flush-log-at-trx-commit=0", "--innodb-use-native-aio=0"]

SLUICE_CONF = None  # optional HOCON file with extra Sluice settings (--sluice-conf)
PROCS = []          # (name, Popen) of everything started, stopped in reverse order
WORK = None
LOGS = None


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def start(name, argv, stdout=None, stdin=None, env=None, cpus=None):
    """Starts a process, logging its output to LOGS/name.log unless stdout is given; on the CPUs
    `cpus` only when given."""
    out = stdout if stdout is not None else open(os.path.join(LOGS, name + ".log"), "ab")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT if stdout is None else open(
        os.path.join(LOGS, name + ".err.log"), "ab"), stdin=stdin, env=env, preexec_fn=on_cpus(cpus))
    PROCS.append((name, p))
    with open(os.path.join(WORK, "pids"), "a") as f:
        f.write("%d\n" % p.pid)
    return p


def on_cpus(cpus):
    """A preexec_fn that keeps the child (and its threads) on `cpus`; None when cpus is None."""
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


def pin_threads(pid, cpus):
    """Moves every thread of a running process to `cpus`. Threads it starts later inherit the
    affinity of the thread that starts them (mariadbd: its listener), so the whole server follows."""
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass  # the thread ended meanwhile


def stop(p, timeout=15):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    PROCS[:] = [(n, q) for (n, q) in PROCS if q is not p]


def stop_all():
    for _, p in reversed(list(PROCS)):
        try:
            stop(p, 10)
        except Exception as e:  # keep stopping the others
            log("stop failed: %s" % e)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), 0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def http_get(port, path, timeout=5):
    with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=timeout) as r:
        return r.read().decode()


def stat_cpu(path):
    """(name, user s, system s) from a /proc/.../stat file (a process's or one thread's);
    ("", 0, 0) if it is gone."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return "", 0.0, 0.0
    name, rest = text[text.find("(") + 1:text.rfind(")")], text[text.rfind(")") + 1:].split()
    tck = os.sysconf("SC_CLK_TCK")
    return name, int(rest[11]) / tck, int(rest[12]) / tck


def cpu_seconds(pid):
    """utime + stime of a process (all threads), in seconds; 0 if gone."""
    return sum(cpu_split(pid))


def cpu_split(pid):
    """(user, system) CPU seconds of a process; (0, 0) if gone."""
    return stat_cpu("/proc/%d/stat" % pid)[1:]


def jit_cpu_seconds(pid):
    """CPU seconds the JVM's JIT compiler threads (C1, C2) of a process have used; 0 if gone."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    total = 0.0
    for tid in tids:
        name, user, system = stat_cpu("/proc/%d/task/%s/stat" % (pid, tid))
        if "CompilerThre" in name:
            total += user + system
    return total


def context_switches(pid):
    """Voluntary + involuntary context switches of all a process's threads (a sleeping event loop
    that wakes for a packet costs one)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                    for line in f:
                        if "ctxt_switches:" in line:
                            total += int(line.split()[1])
            except OSError:
                pass
    except OSError:
        pass
    return total


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine_cpu():
    """(busy, softirq, steal) CPU seconds of the whole machine (all cores, /proc/stat). busy leaves out
    softirq and steal: softirq is mostly the loopback traffic of the run itself, handled outside any
    process, and steal is time the hypervisor gave to other guests. Neither is another process."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + v[5]) / hz, v[6] / hz, v[7] / hz


def other_cpu(r, m0):
    """Sets r's other_cpu_s (CPU of processes other than server, proxy and load client, from busy
    time since m0 = machine_cpu()), softirq_s and steal_s."""
    m1 = machine_cpu()
    r["other_cpu_s"] = max(0.0, round(m1[0] - m0[0] - r["server_cpu_s"] - r["proxy_cpu_s"] - r["client_cpu_s"], 1))
    r["softirq_s"], r["steal_s"] = round(m1[1] - m0[1], 1), round(m1[2] - m0[2], 1)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------- MariaDB

class Server:
    """A throwaway mariadbd on a temp datadir, started with the integration tests' server flags
    (localdb LocalServer, which testkit uses): no config files, loopback only, no name resolution, no binlog."""

    def __init__(self, max_connections, name="mariadb", server_id=None, create_db=True):
        """name: its files (datadir, socket, pid, logs) in WORK and LOGS; server_id: given, the server
        writes a binlog for replication (GTID, row format, replicated changes logged too) instead of
        --skip-log-bin; create_db=False for a replica, which gets the database and the user from its primary."""
        self.name, self.server_id, self.create_db = name, server_id, create_db
        self.datadir = os.path.join(WORK, name)
        self.sock = os.path.join(WORK, name + ".sock")
        self.port = free_port()
        self.max_connections = max_connections
        self.proc = None

    def binlog_flags(self):
        if self.server_id is None:
            return ["--skip-log-bin"]
        return ["--log-bin=" + os.path.join(self.datadir, "binlog"), "--server-id=%d" % self.server_id,
                "--binlog-format=ROW", "--log-slave-updates"]

    def start(self):
        os.makedirs(self.datadir)
        subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.datadir, "--user=root",
                        "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve",
                        "--skip-log-bin"] + INNODB_OPTIONS,
                       stdout=open(os.path.join(LOGS, self.name + "-install.log"), "wb"), stderr=subprocess.STDOUT,
                       check=True, timeout=120)
        os.makedirs(os.path.join(WORK, self.name + "-tmp"))
        # The flags of localdb's LocalServer (what the integration tests start), then the
        # harness's overrides: a higher max_connect_errors, so storms do not get 127.0.0.1 blocked.
        self.proc = start("mariadbd" if self.name == "mariadb" else self.name, [
            "mariadbd", "--no-defaults", "--datadir=" + self.datadir, "--socket=" + self.sock,
            "--port=%d" % self.port, "--bind-address=" + HOST, "--max-connections=%d" % self.max_connections,
            "--skip-name-resolve"] + self.binlog_flags() + ["--pid-file=" + os.path.join(WORK, self.name + ".pid"),
            "--tmpdir=" + os.path.join(WORK, self.name + "-tmp"), "--secure-file-priv=", "--local-infile=1",
            "--max-allowed-packet=64M", "--character-set-server=utf8mb4"] + INNODB_OPTIONS + [
            "--user=root", "--max-connect-errors=1000000000",
            "--log-error=" + os.path.join(LOGS, self.name + "-error.log")])
        deadline = time.time() + 60
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("mariadbd did not start; see %s-error.log" % self.name)
            time.sleep(0.1)
        if self.create_db:
            self.sql("CREATE DATABASE %s; CREATE USER '%s'@'%s' IDENTIFIED BY '%s'; GRANT ALL ON %s.* TO '%s'@'%s';"
                     % (DB_NAME, DB_USER, HOST, DB_PASS, DB_NAME, DB_USER, HOST))
        return self

    def sql(self, statements, timeout=30):
        r = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", self.sock, "-N", "-B", "-e", statements],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("mariadb: %s" % r.stderr.strip())
        return r.stdout

    def status(self, name):
        return int(self.sql("SHOW GLOBAL STATUS LIKE '%s'" % name).split()[1])

    def set_max_connections(self, n):
        self.sql("SET GLOBAL max_connections=%d" % n)
        self.max_connections = n


class Sampler:
    """Samples the server's Threads_connected every interval through one persistent root client
    (connected before the load starts, over the socket; it is excluded from the figures)."""

    def __init__(self, server, interval=0.15, limit_s=600):
        self.server, self.interval, self.limit_s = server, interval, limit_s
        self.samples = []
        self.stopped = threading.Event()

    def __enter__(self):
        self.proc = start("sampler", ["mariadb", "--no-defaults", "-uroot", "-S", self.server.sock, "-N", "-B", "-n"],
                          stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        deadline = time.time() + self.limit_s
        try:
            while not self.stopped.is_set() and time.time() < deadline:
                self.proc.stdin.write(b"SHOW GLOBAL STATUS LIKE 'Threads_connected';\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.samples.append(int(line.split()[1]) - 1)  # minus the sampler itself
                self.stopped.wait(self.interval)
        except (OSError, ValueError, IndexError) as e:
            log("sampler stopped: %s" % e)

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(5)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        stop(self.proc, 5)

    @property
    def peak(self):
        return max(self.samples) if self.samples else None


# ---------------------------------------------------------------- Sluice and HAProxy

class Sluice:
    def __init__(self, jar, server, mode, pool, global_max=None, extra=(), name=None, java_opts=(), cpus=None,
                 servers=None):
        """servers: a primary and its replicas (Servers) for sluice.servers instead of the one server."""
        self.jar, self.server, self.mode, self.pool, self.cpus = jar, server, mode, pool, cpus
        self.servers = servers or [server]
        self.global_max = global_max or pool
        self.extra, self.java_opts = list(extra), list(java_opts)
        self.name = name or "sluice-%s" % mode
        self.port, self.admin = free_port(), free_port()
        self.proc = None

    def start(self, timeout=30):
        argv = ["java"] + self.java_opts + ["-jar", self.jar] + (["-c", SLUICE_CONF] if SLUICE_CONF else []) + [
            "--server", ",".join("%s:%d" % (HOST, x.port) for x in self.servers), "--user", DB_USER,
            "--password", DB_PASS, "--listen", "%s:%d" % (HOST, self.port), "--admin-port", str(self.admin),
            "--pool-size", str(self.pool), "--global-max", str(self.global_max), "--pool-mode", self.mode] + self.extra
        self.log_path = os.path.join(LOGS, self.name + ".log")
        self.proc = start(self.name, argv, cpus=self.cpus)
        if not wait_port(self.port, timeout, self.proc) or not wait_port(self.admin, 10, self.proc):
            code = self.proc.poll()
            stop(self.proc)
            raise RuntimeError("Sluice (%s) did not start (exit %s): %s" % (self.mode, code, tail(self.log_path, 5)))
        return self

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def stats(self):
        return json.loads(http_get(self.admin, "/stats"))

    def metrics(self):
        out = {}
        for line in http_get(self.admin, "/metrics").splitlines():
            if line.startswith("sluice_") and " " in line:
                k, v = line.rsplit(" ", 1)
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out


class Relay:
    """HAProxy in mode tcp: the cost floor of one more user-space hop on the same cores."""

    def __init__(self, server):
        self.server, self.port = server, free_port()

    def start(self):
        cfg = os.path.join(WORK, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("""global
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
frontend mysql
    bind %s:%d
    default_backend server
backend server
    server db %s:%d
""" % (HOST, self.port, HOST, self.server.port))
        self.proc = start("haproxy", ["haproxy", "-db", "-f", cfg])
        if not wait_port(self.port, 10, self.proc):
            raise RuntimeError("haproxy did not start: %s" % tail(os.path.join(LOGS, "haproxy.log"), 5))
        return self


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.rstrip() for line in f.readlines()[-n:])
    except OSError:
        return ""


def log_problems(path, limit=8):
    """WARN/ERROR lines and exceptions in a Sluice log: counted, first few kept for the report."""
    found, count = [], 0
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if " WARN " in line or " ERROR " in line or "Exception" in line or "LEAK" in line:
                    count += 1
                    if len(found) < limit:
                        found.append(line.rstrip()[:300])
    except OSError:
        pass
    return {"count": count, "first": found}


# ---------------------------------------------------------------- sysbench

def sysbench_args(cfg, port, threads):
    return ["--db-driver=mysql", "--mysql-host=" + HOST, "--mysql-port=%d" % port, "--mysql-user=" + DB_USER,
            "--mysql-password=" + DB_PASS, "--mysql-db=" + DB_NAME, "--tables=%d" % cfg.tables,
            "--table-size=%d" % cfg.table_size, "--threads=%d" % threads]


def parse_sysbench(text):
    """The final report (after the warm-up checkpoint) and its latency histogram."""
    r = {}
    final = text[text.rfind("SQL statistics:"):]
    m = re.search(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec", final)
    if m:
        r["transactions"], r["tps"] = int(m.group(1)), float(m.group(2))
    m = re.search(r"queries:\s+(\d+)\s+\(([\d.]+) per sec", final)
    if m:
        r["queries"], r["qps"] = int(m.group(1)), float(m.group(2))
    m = re.search(r"ignored errors:\s+(\d+)", final)
    r["ignored_errors"] = int(m.group(1)) if m else None
    m = re.search(r"reconnects:\s+(\d+)", final)
    r["reconnects"] = int(m.group(1)) if m else None
    # Warm-up checkpoint plus final report: every query the run made, for CPU per query.
    r["all_queries"] = sum(int(q) for q in re.findall(r"^\s+queries:\s+(\d+)\s+\(", text, re.M))
    hist = text[text.rfind("Latency histogram"):text.rfind("SQL statistics:")] if "Latency histogram" in text else ""
    buckets = [(float(a), int(b)) for a, b in re.findall(r"^\s+([\d.]+) \|[* ]*?\s(\d+)\s*$", hist, re.M)]
    total = sum(c for _, c in buckets)
    r["hist_events"] = total
    for name, p in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        want, seen, val = total * p, 0, None
        for v, c in buckets:
            seen += c
            if seen >= want:
                val = v
                break
        r[name] = val
    return r


def run_sysbench(cfg, test, port, threads, total_seconds=None, raw_name=None):
    """One sysbench run: the first cfg.warmup seconds end at a checkpoint report, which resets the
    counters, so the final report and its histogram cover only the cfg.duration seconds after it."""
    argv = ["sysbench", test] + sysbench_args(cfg, port, threads) + [
        "--time=%d" % (total_seconds or cfg.warmup + cfg.duration), "--report-checkpoints=%d" % cfg.warmup,
        "--histogram=on", "--percentile=99", "--db-ps-mode=%s" % cfg.db_ps_mode, "run"]
    c0 = children_cpu()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=cfg.warmup + cfg.duration + 90)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or ""), -9
    r = parse_sysbench(out)
    r["client_cpu_s"] = round(children_cpu() - c0, 2)
    if raw_name:
        os.makedirs(os.path.join(LOGS, "sysbench"), exist_ok=True)
        with open(os.path.join(LOGS, "sysbench", raw_name + ".txt"), "w") as f:
            f.write(" ".join(a for a in argv if not a.startswith("--mysql-password")) + "\n\n" + out)
    r["rc"] = rc
    if rc != 0 or "FATAL" in out:
        r["fatal"] = [line for line in out.splitlines() if "FATAL" in line or "error" in line.lower()][:5]
    return r


# ---------------------------------------------------------------- phases

def probe_transaction_mode(cfg, server):
    """Transaction mode is 'available' when Sluice accepts it and 4 connected clients share a pool of 2."""
    s = Sluice(cfg.jar, server, "transaction", 2, extra=["--acquire-timeout", "1s"], name="sluice-probe")
    try:
        s.start()
    except RuntimeError as e:
        return {"available": False, "why": str(e)}
    try:
        p = subprocess.run(["java", "-cp", cfg.classes, "LoadClient", "probe", HOST, str(s.port), DB_USER, DB_PASS],
                           capture_output=True, text=True, timeout=60)
        res = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {"error": p.stderr[-300:]}
    except (subprocess.TimeoutExpired, ValueError) as e:
        res = {"transaction_pooling": False, "error": "probe failed: %s" % e}
    finally:
        s.stop()
    if res.get("transaction_pooling"):
        return {"available": True}
    return {"available": False, "why": "Sluice accepts --pool-mode transaction but 4 clients could not share a "
                                       "pool of 2 (%s)" % res.get("error")}


def phase_matrix(cfg, server, txn):
    log("matrix: starting Sluice (session, pool %d) and HAProxy" % cfg.session_pool)
    targets = [("direct", server.port, server.proc.pid)]
    sess = Sluice(cfg.jar, server, "session", cfg.session_pool, java_opts=cfg.sluice_java_opts).start()
    relay = Relay(server).start()
    targets += [("sluice", sess.port, sess.proc.pid), ("relay", relay.port, relay.proc.pid)]
    sx = None
    if txn["available"]:
        sx = Sluice(cfg.jar, server, "transaction", cfg.txn_pool, java_opts=cfg.sluice_java_opts).start()
        targets.append(("sluice-txn", sx.port, sx.proc.pid))
    rows = []
    try:
        rotate_targets(cfg, [server], targets, cfg.tests, cfg.threads, rows)
    finally:
        problems = {"sluice": log_problems(sess.log_path)}
        sess.stop()
        stop(relay.proc)
        if sx:
            problems["sluice-txn"] = log_problems(sx.log_path)
            sx.stop()
    return {"runs": rows, "targets": [t[0] for t in targets], "sluice_log": problems,
            "run_seconds": cfg.warmup + cfg.duration}


def rotate_targets(cfg, servers, targets, tests, thread_counts, rows, count_statements=False):
    """The matrix's runs: warm up each Sluice of `targets` ((name, port, pid), the first one direct),
    then every test and thread count cfg.repeats times, each repeat starting one target later; appends
    a row per run to `rows`. server_cpu_s is the CPU of all `servers`; with more than one, each
    server's CPU is also kept (servers_cpu_s), and with count_statements each server's Com_select,
    Com_insert, Com_update, Com_delete deltas (servers_com)."""
    per_server = len(servers) > 1

    def server_cpu():
        return sum(cpu_seconds(x.proc.pid) for x in servers)

    def com_counts():
        out = {}
        for x in servers:
            text = x.sql("SHOW GLOBAL STATUS WHERE Variable_name IN "
                         "('Com_select', 'Com_insert', 'Com_update', 'Com_delete')")
            out[x.name] = {k: int(v) for k, v in (line.split("\t") for line in text.strip().splitlines())}
        return out

    if cfg.matrix_warmup:
        # As for the storm (warm_up): one 6 s round per test left C2 at work well into the 8-thread
        # runs (a fresh transaction-mode Sluice spent 2 s of JIT CPU in its first 10 s of 8-thread
        # point selects, 0.8 s in the next 10, ~0 after), which the matrix then counted as Sluice's
        # cost per query and took from the server's cores. Each Sluice now gets rounds until its JIT
        # is quiet (until_jit_quiet).
        log("  warming up the proxies (%d s rounds per test and proxy until the JIT is quiet, not measured)"
            % cfg.matrix_warmup)

        def sysbench_round(port):
            for test in tests:
                run_sysbench(cfg, test, port, 8, total_seconds=cfg.matrix_warmup)

        for name, port, pid in targets[1:]:
            if name.startswith("sluice"):
                rnd, spent = until_jit_quiet(cfg, pid, lambda: sysbench_round(port))
                log("  %s: %d round(s), JIT %.2f s CPU in the last" % (name, rnd, spent))
            else:
                sysbench_round(port)
    for test in tests:
        for threads in thread_counts:
            for rep in range(cfg.repeats):
                # Each repeat starts one target later (direct, Sluice, relay, ...; then Sluice, relay,
                # ..., direct): no target always runs first after a change of test or thread count, or
                # always right after the same neighbour, so a drift of the host within a repeat
                # does not favour one side of a ratio run after run.
                shift = rep % len(targets)
                for name, port, pid in targets[shift:] + targets[:shift]:
                    c0 = com_counts() if count_statements else None
                    t0 = [cpu_seconds(x.proc.pid) for x in servers] if per_server else None
                    s0, p0 = server_cpu(), cpu_seconds(pid) if name != "direct" else 0
                    u0, y0 = cpu_split(pid) if name != "direct" else (0, 0)
                    x0 = context_switches(pid) if name != "direct" else 0
                    jit0 = jit_cpu_seconds(pid) if name.startswith("sluice") else 0.0
                    m0 = machine_cpu()
                    r = run_sysbench(cfg, test, port, threads,
                                     raw_name="%s-%03d-%s-%d" % (test, threads, name, rep))
                    r.update(test=test, threads=threads, repeat=rep, target=name,
                             server_cpu_s=round(server_cpu() - s0, 2),
                             proxy_cpu_s=round(cpu_seconds(pid) - p0, 2) if name != "direct" else 0.0)
                    if per_server:
                        r["servers_cpu_s"] = {x.name: round(cpu_seconds(x.proc.pid) - t, 2)
                                              for x, t in zip(servers, t0)}
                    other_cpu(r, m0)
                    if count_statements:
                        c1 = com_counts()
                        r["servers_com"] = {n: {k: c1[n][k] - c0[n].get(k, 0) for k in c1[n]} for n in c1}
                    if name != "direct":
                        u1, y1 = cpu_split(pid)
                        r["proxy_user_s"], r["proxy_sys_s"] = round(u1 - u0, 2), round(y1 - y0, 2)
                        r["proxy_context_switches"] = context_switches(pid) - x0
                    if name.startswith("sluice"):
                        r["proxy_jit_s"] = round(jit_cpu_seconds(pid) - jit0, 2)
                    rows.append(r)
                    log("  %-17s %3d thr rep %d %-10s qps %9.0f p95 %s p99 %s err %s other-cpu %s%s" % (
                        test, threads, rep, name, r.get("qps") or 0, r.get("p95_ms"), r.get("p99_ms"),
                        r.get("ignored_errors"), r["other_cpu_s"], " FATAL " + str(r.get("fatal")) if r.get("fatal") else ""))


REPL_USER, REPL_PASS = "repl", "replpass"


def phase_cluster(cfg, txn):
    """A GTID primary and two read-only replicas, each its own throwaway server; sysbench against the
    primary directly, through a Sluice fronting the primary only, and through a Sluice fronting all
    three (sluice.servers), both in transaction mode, with the matrix's rotation."""
    if not txn["available"]:
        return {"skipped": "transaction mode is not available: " + txn["why"]}
    log("cluster: starting a primary and two replicas (GTID, row binlog)")
    primary = Server(cfg.max_connections, name="cluster-primary", server_id=1).start()
    # The sysbench user has ALL on sbtest only: no SUPER or READ_ONLY ADMIN, so a write sent to a
    # read-only replica fails (1290) instead of landing there.
    primary.sql("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'; GRANT REPLICATION SLAVE ON *.* TO '%s'@'%s';"
                % (REPL_USER, HOST, REPL_PASS, REPL_USER, HOST))
    replicas = []
    for i in (1, 2):
        rep = Server(cfg.max_connections, name="cluster-replica%d" % i, server_id=1 + i, create_db=False).start()
        rep.sql("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', "
                "MASTER_USE_GTID=slave_pos; START SLAVE; SET GLOBAL read_only=ON;"
                % (HOST, primary.port, REPL_USER, REPL_PASS))
        replicas.append(rep)
    servers = [primary] + replicas
    log("cluster: sysbench prepare on the primary: %d tables x %d rows" % (cfg.tables, cfg.table_size))
    subprocess.run(["sysbench", "oltp_read_write"] + sysbench_args(cfg, primary.port, min(cfg.tables, 4)) + ["prepare"],
                   stdout=open(os.path.join(LOGS, "cluster-sysbench-prepare.log"), "wb"), stderr=subprocess.STDOUT,
                   check=True, timeout=600)
    pos = primary.sql("SELECT @@gtid_binlog_pos").strip()
    for rep in replicas:
        got = rep.sql("SELECT MASTER_GTID_WAIT('%s', 120)" % pos, timeout=150).strip()
        if got != "0":
            raise RuntimeError("cluster: %s did not reach the primary's GTID %s (MASTER_GTID_WAIT %s): %s" % (
                rep.name, pos, got, rep.sql("SHOW SLAVE STATUS\\G")[-600:]))
    log("cluster: replicas at the primary's GTID %s" % pos)
    one = Sluice(cfg.jar, primary, "transaction", cfg.txn_pool, name="sluice-1",
                 java_opts=cfg.sluice_java_opts).start()
    clu = Sluice(cfg.jar, primary, "transaction", cfg.txn_pool, name="sluice-cluster", servers=servers,
                 java_opts=cfg.sluice_java_opts).start()
    targets = [("direct", primary.port, primary.proc.pid), ("sluice-1", one.port, one.proc.pid),
               ("sluice-cluster", clu.port, clu.proc.pid)]
    rows = []
    stats = None
    try:
        rotate_targets(cfg, servers, targets, cfg.tests, cfg.cluster_threads, rows, count_statements=True)
        try:
            stats = clu.stats().get("cluster")
        except (OSError, ValueError) as e:
            stats = {"error": str(e)}
    finally:
        problems = {"sluice-1": log_problems(one.log_path), "sluice-cluster": log_problems(clu.log_path)}
        one.stop()
        clu.stop()
        for x in reversed(servers):
            stop(x.proc)
    return {"runs": rows, "targets": [t[0] for t in targets], "servers": [x.name for x in servers],
            "sluice_log": problems, "cluster_stats": stats, "run_seconds": cfg.warmup + cfg.duration}


def report_cluster(c):
    if "skipped" in c:
        return "skipped: " + c["skipped"]
    out = ["A primary and two GTID replicas (read_only), each a mariadbd of its own on these cores; sysbench "
           "against the primary (direct), through Sluice in transaction mode fronting the primary only "
           "(sluice-1) and fronting all three (sluice-cluster, `sluice.servers`). Medians of %d repeats; CPU "
           "per query = CPU over the whole run (warm-up included) / every query of the run." % (
               max(r["repeat"] for r in c["runs"]) + 1 if c["runs"] else 0)]
    runs, names = c["runs"], c["servers"]
    for test in sorted({r["test"] for r in runs}, key=lambda t: t != "oltp_point_select"):
        for th in sorted({r["threads"] for r in runs if r["test"] == test}):
            out.append("\n#### %s, %d threads\n" % (test, th))
            out.append("| target | QPS median (min–max) | p95 ms | p99 ms | errors | Sluice CPU µs/query | "
                       + " | ".join("%s CPU µs/query" % n for n in names) + " | "
                       + " | ".join("%s share of Com_select" % n for n in names) + " | writes (ins+upd+del) per server |")
            out.append("|---|---|---|---|---|---|" + "---|" * (2 * len(names)) + "---|")
            for t in c["targets"]:
                rs = [r for r in runs if r["test"] == test and r["threads"] == th and r["target"] == t]
                if not rs:
                    continue
                q = [r.get("qps") for r in rs if r.get("qps") is not None]
                errs = sum((r.get("ignored_errors") or 0) for r in rs)
                fatal = sum(1 for r in rs if r.get("fatal"))
                aq = [r for r in rs if r.get("all_queries")]
                proxy = med([r["proxy_cpu_s"] / r["all_queries"] * 1e6 for r in aq]) if t != "direct" else None
                cells = ["%s (%s–%s)" % (fmt(med(q)), fmt(min(q) if q else None), fmt(max(q) if q else None)),
                         fmt(med([r.get("p95_ms") for r in rs]), 3), fmt(med([r.get("p99_ms") for r in rs]), 3),
                         "%d%s" % (errs, " (%d runs failed)" % fatal if fatal else ""), fmt(proxy, 1)]
                for n in names:
                    cells.append(fmt(med([r["servers_cpu_s"][n] / r["all_queries"] * 1e6 for r in aq]), 1))
                for n in names:
                    shares = []
                    for r in rs:
                        tot = sum(v["Com_select"] for v in r["servers_com"].values())
                        shares.append(100.0 * r["servers_com"][n]["Com_select"] / tot if tot else None)
                    cells.append("%s%%" % fmt(med(shares), 1))
                cells.append(" / ".join(fmt(med([sum(r["servers_com"][n].get(k, 0) for k in
                                                     ("Com_insert", "Com_update", "Com_delete")) for r in rs]))
                                        for n in names))
                out.append("| %s | %s |" % (t, " | ".join(cells)))
    out.append("\nCom_* deltas are each server's SHOW GLOBAL STATUS before and after a run. They include the "
               "Sluice monitors' polls (one SELECT per server every poll-interval, from the cluster Sluice, "
               "which runs the whole phase) and, on a replica, the row events it applies from the primary "
               "(MariaDB counts each as a Com_insert/Com_update/Com_delete): a replica's writes equal the "
               "primary's when all it writes is replicated; a client's write sent to a replica would fail "
               "(read_only) and show under errors. Writes per server: %s, median per run." % " / ".join(names))
    for k, v in c["sluice_log"].items():
        out.append("\n%s log: %d warning/error lines%s" % (k, v["count"], "".join("\n    " + x for x in v["first"])))
    st = c.get("cluster_stats")
    if st and "servers" in st:
        out.append("\nsluice-cluster `/stats` → `cluster` at the end: primary %s; %s." % (st.get("primary"), "; ".join(
            "%s %s (readable %s, writable %s, lag %s ms, acquires %s)" % (
                x.get("address"), x.get("role"), x.get("readable"), x.get("writable"), x.get("lag_ms"),
                sum(p.get("acquires", 0) for p in x.get("pools", []))) for x in st["servers"])))
    elif st is not None:
        out.append("\nsluice-cluster `/stats` → `cluster` at the end: `%s`" % json.dumps(st)[:500])
    return "\n".join(out)


def load_client(cfg, mode, port, threads, seconds, cpus=None):
    argv = ["java", "-Xss256k", "-Xmx1g", "-cp", cfg.classes, "LoadClient", mode, HOST, str(port), DB_USER, DB_PASS,
            str(threads), str(seconds), str(cfg.tables), str(cfg.table_size)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, preexec_fn=on_cpus(cpus))
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "load client failed (exit %d): %s" % (p.returncode, p.stderr[-400:])}


def acquire_figures(before, after):
    """Acquire-wait figures from Sluice's /metrics: granted count, p99 (Micrometer's window), max, timeouts."""
    def pick(d, prefix, **tags):
        for k, v in d.items():
            if k.startswith(prefix + "{") and all('%s="%s"' % t in k for t in tags.items()):
                return v
        return 0.0
    return {
        "acquires": pick(after, "sluice_pool_acquire_seconds_count", result="granted")
                    - pick(before, "sluice_pool_acquire_seconds_count", result="granted"),
        "acquire_p99_ms": round(pick(after, "sluice_pool_acquire_seconds", result="granted", quantile="0.99") * 1000, 2),
        "acquire_max_ms": round(pick(after, "sluice_pool_acquire_seconds_max", result="granted") * 1000, 2),
        "acquire_timeouts": pick(after, "sluice_pool_acquire_rejected_total", reason="timeout")
                            - pick(before, "sluice_pool_acquire_rejected_total", reason="timeout"),
        "queue_full": pick(after, "sluice_pool_acquire_rejected_total", reason="queue_full")
                      - pick(before, "sluice_pool_acquire_rejected_total", reason="queue_full"),
    }


def warm_up(cfg, kind, sl, threads, cpus=None):
    """Runs the same load, unmeasured, on a fresh Sluice until its JIT compilers go quiet: rounds of
    cfg.overload_warmup seconds until one costs the C1/C2 threads under 0.1 s of CPU, at most
    cfg.overload_warmup_rounds. A fixed 10 s was not enough: in a 1,000-client storm C2 was still
    at work 25 s in (async-profiler: 30% of Sluice's CPU in the compiler threads during the
    measured run), and the run after it completed 17% fewer transactions than later ones."""
    rnd, spent = until_jit_quiet(cfg, sl.proc.pid,
                                 lambda: load_client(cfg, kind, sl.port, threads, cfg.overload_warmup, cpus))
    log("  warm-up: %d round(s) of %d s, JIT %.2f s CPU in the last" % (rnd, cfg.overload_warmup, spent))


def until_jit_quiet(cfg, pid, one_round):
    """Runs one_round() until a round costs process pid's C1/C2 threads under 0.1 s of CPU, at most
    cfg.overload_warmup_rounds times; returns the rounds run and the JIT CPU seconds of the last."""
    for rnd in range(1, cfg.overload_warmup_rounds + 1):
        j0 = jit_cpu_seconds(pid)
        one_round()
        spent = jit_cpu_seconds(pid) - j0
        if spent < 0.1:
            break
    return rnd, spent


def overload_runs(cfg, server, txn, kind, thread_counts, seconds, modes=("session", "transaction"), cpus=None,
                  label=None, repeats=1):
    """Storm or churn (`kind`, the load client's mode): each client count direct, then through Sluice
    (fresh, warmed) in each mode, `repeats` times in turn (direct, Sluice, ..., direct, Sluice, ...) so
    that the host's drift hits every target alike; Sluice and the load client on `cpus` when given.
    `label` names the runs in logs and Sluice's log files (default: kind)."""
    label = label or kind
    server.set_max_connections(cfg.overload_max_connections)
    modes = [m for m in modes if m == "session" or txn["available"]]
    rows = []
    plan = [("direct", None)] + [("sluice" if m == "session" else "sluice-txn", m) for m in modes]
    for threads, repeat, (name, mode) in itertools.product(thread_counts, range(1, repeats + 1), plan):
        sl = None
        port = server.port
        if mode:
            sl = Sluice(cfg.jar, server, mode, cfg.overload_pool, extra=["--max-clients", "12000"],
                        name="sluice-%s-%s-%d-%d" % (label, mode, threads, repeat), java_opts=cfg.sluice_java_opts,
                        cpus=cpus).start()
            port = sl.port
            if cfg.overload_warmup:
                warm_up(cfg, kind, sl, threads, cpus)
            before = sl.metrics()
        server.sql("FLUSH STATUS")
        c0, p0, m0, k0 = cpu_seconds(server.proc.pid), cpu_seconds(sl.proc.pid) if sl else 0, \
            machine_cpu(), children_cpu()
        u0, y0 = cpu_split(sl.proc.pid) if sl else (0, 0)
        with Sampler(server) as smp:
            r = load_client(cfg, kind, port, threads, seconds, cpus)
        r.update(target=name, threads=threads, repeat=repeat, server_peak_threads_connected=smp.peak,
                 server_max_used_connections=server.status("Max_used_connections") - 1,
                 server_cpu_s=round(cpu_seconds(server.proc.pid) - c0, 2), samples=len(smp.samples),
                 proxy_cpu_s=round(cpu_seconds(sl.proc.pid) - p0, 2) if sl else 0.0,
                 client_cpu_s=round(children_cpu() - k0, 2))
        other_cpu(r, m0)
        if sl:
            u1, y1 = cpu_split(sl.proc.pid)
            r["proxy_user_s"], r["proxy_sys_s"] = round(u1 - u0, 2), round(y1 - y0, 2)
            r.update(acquire_figures(before, sl.metrics()))
            r["pool_cap"] = cfg.overload_pool
            r["sluice_log"] = log_problems(sl.log_path)
            sl.stop()
        rows.append(r)
        log("  %s %-10s %4d thr #%d: %s" % (label, name, threads, repeat, json.dumps(
            {k: r.get(k) for k in ("tps", "per_sec", "errors", "connect_errors", "tx_errors", "by_code",
                                    "server_peak_threads_connected", "acquire_p99_ms", "other_cpu_s",
                                    "proxy_user_s", "proxy_sys_s",
                                    "error")
             if r.get(k) is not None})))
    return rows


def storm_clients(cfg):
    """The storm's client counts: each factor times the overload server's max_connections."""
    return [f * cfg.overload_max_connections for f in cfg.storm_factors]


def phase_storm(cfg, server, txn):
    log("storm: max_connections %d, clients %s" % (cfg.overload_max_connections, storm_clients(cfg)))
    return overload_runs(cfg, server, txn, "storm", storm_clients(cfg), cfg.storm_seconds, repeats=cfg.storm_repeats)


def phase_storm_split(cfg, server, txn):
    """The storm with the server on a CPU of its own and Sluice and the load client on the rest: the
    shape of a deployment where the database has its own host and Sluice runs next to the
    application (a sidecar). Direct and transaction mode only (session mode's storm is about its
    acquire timeouts, which the shared-CPU storm shows). The server gets all CPUs back afterwards."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        log("storm-split: skipped, needs 2 CPUs (this process may use %s)" % allowed)
        return {"skipped": "needs 2 CPUs, this process may use %d" % len(allowed)}
    server_cpus, rest = {allowed[0]}, set(allowed[1:])
    log("storm-split: server on CPU %s, Sluice and clients on CPU %s; max_connections %d, clients %s" % (
        sorted(server_cpus), sorted(rest), cfg.overload_max_connections, storm_clients(cfg)))
    pin_threads(server.proc.pid, server_cpus)
    try:
        rows = overload_runs(cfg, server, txn, "storm", storm_clients(cfg), cfg.storm_seconds,
                             modes=("transaction",), cpus=rest, label="storm-split", repeats=cfg.storm_repeats)
    finally:
        pin_threads(server.proc.pid, set(allowed))
    return {"server_cpus": sorted(server_cpus), "other_cpus": sorted(rest), "runs": rows}


def phase_churn(cfg, server, txn):
    log("churn: max_connections %d, %d threads" % (cfg.overload_max_connections, cfg.churn_threads))
    return overload_runs(cfg, server, txn, "churn", [cfg.churn_threads], cfg.churn_seconds)


def heap_after_gc(pid):
    subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=60)
    time.sleep(0.5)
    out = subprocess.run(["jcmd", str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"total (\d+)K, used (\d+)K", out)
    meta = re.search(r"Metaspace\s+used (\d+)K", out)
    return {"heap_used_kib": int(m.group(2)) if m else None, "heap_committed_kib": int(m.group(1)) if m else None,
            "metaspace_used_kib": int(meta.group(1)) if meta else None}


def phase_memory(cfg, server):
    log("memory: idle clients %s" % cfg.memory_levels)
    server.set_max_connections(cfg.overload_max_connections)
    sl = Sluice(cfg.jar, server, "session", 4, extra=["--max-clients", "12000"], name="sluice-memory",
                java_opts=cfg.sluice_java_opts).start()
    pid = sl.proc.pid
    rows = []
    client = None
    try:
        # One query through Sluice first so the backend path is loaded, as in a running proxy.
        load_client(cfg, "churn", sl.port, 2, 1)
        time.sleep(1)
        base = heap_after_gc(pid)
        base.update(clients=0, rss_kib=rss_kib(pid))
        rows.append(base)
        log("  0 clients: heap %s KiB, RSS %s KiB" % (base["heap_used_kib"], base["rss_kib"]))
        client = start("idle-clients", ["java", "-Xmx2g", "-cp", cfg.classes, "LoadClient", "idle", HOST,
                                         str(sl.port), DB_USER, DB_PASS], stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        have = 0
        for level in cfg.memory_levels:
            client.stdin.write(("open %d\n" % (level - have)).encode())
            client.stdin.flush()
            line = read_line_bounded(client.stdout, 300)
            m = re.match(r"opened (\d+) failed (\d+) ms (\d+) errors (.*)", line or "")
            if not m:
                raise RuntimeError("idle client said %r" % line)
            have = int(m.group(1))
            time.sleep(2)
            st = sl.stats()
            r = heap_after_gc(pid)
            r.update(clients=have, asked=level, failed=int(m.group(2)), login_ms=int(m.group(3)),
                     login_errors=json.loads(m.group(4)), rss_kib=rss_kib(pid), sluice_clients=st.get("clients"),
                     backend_connections=st.get("backend_connections"))
            r["heap_per_client_b"] = round((r["heap_used_kib"] - base["heap_used_kib"]) * 1024 / max(have, 1))
            r["rss_per_client_b"] = round((r["rss_kib"] - base["rss_kib"]) * 1024 / max(have, 1))
            rows.append(r)
            log("  %d clients (Sluice sees %s, %s failed): heap %s KiB (%s B/client), RSS %s KiB (%s B/client)" % (
                have, r["sluice_clients"], r["failed"], r["heap_used_kib"], r["heap_per_client_b"], r["rss_kib"],
                r["rss_per_client_b"]))
            if int(m.group(2)) > 0:
                log("  login errors: %s" % m.group(4))
                break
    finally:
        quit_idle_clients(client)
        problems = log_problems(sl.log_path)
        sl.stop()
    return {"levels": rows, "sluice_log": problems}


def phase_multiplex(cfg, server):
    """Transaction mode's client-to-backend ratio: cfg.multiplex_clients mostly idle clients on a pool of
    cfg.multiplex_pool, which now and then run a point select (cfg.multiplex_qps in total, on clients
    picked at random); errors, latency, the server's peak connections and Sluice's heap per client."""
    n, pool = cfg.multiplex_clients, cfg.multiplex_pool
    log("multiplex: %d mostly idle clients on %d backends (transaction mode), %d queries/s for %d s" % (
        n, pool, cfg.multiplex_qps, cfg.multiplex_seconds))
    server.set_max_connections(cfg.overload_max_connections)
    sl = Sluice(cfg.jar, server, "transaction", pool, extra=["--max-clients", str(n + 1000)], name="sluice-multiplex",
                java_opts=cfg.sluice_java_opts).start()
    pid = sl.proc.pid
    client = None
    out = {"clients_asked": n, "pool": pool, "qps_asked": cfg.multiplex_qps, "seconds": cfg.multiplex_seconds}
    try:
        load_client(cfg, "churn", sl.port, 2, 1)
        time.sleep(1)
        base = heap_after_gc(pid)
        client = start("multiplex-clients", ["java", "-Xmx2g", "-cp", cfg.classes, "LoadClient", "idle", HOST,
                                              str(sl.port), DB_USER, DB_PASS, str(cfg.tables), str(cfg.table_size)],
                       stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        with Sampler(server) as sampler:
            client.stdin.write(("open %d\n" % n).encode())
            client.stdin.flush()
            line = read_line_bounded(client.stdout, 300)
            m = re.match(r"opened (\d+) failed (\d+) ms (\d+) errors (.*)", line or "")
            if not m:
                raise RuntimeError("multiplex client said %r" % line)
            out.update(clients=int(m.group(1)), login_failed=int(m.group(2)), login_ms=int(m.group(3)),
                       login_errors=json.loads(m.group(4)))
            client.stdin.write(("work %d %d\n" % (cfg.multiplex_seconds, cfg.multiplex_qps)).encode())
            client.stdin.flush()
            line = read_line_bounded(client.stdout, cfg.multiplex_seconds + 120)
            out["work"] = json.loads(line) if line and line.startswith("{") else {"error": line}
        out["server_peak"] = sampler.peak
        st = sl.stats()
        out["sluice_clients"] = st.get("clients")
        out["backend_connections"] = st.get("backend_connections")
        r = heap_after_gc(pid)
        out["heap_used_kib"], out["heap_base_kib"], out["rss_kib"] = r["heap_used_kib"], base["heap_used_kib"], rss_kib(pid)
        out["heap_per_client_b"] = round((r["heap_used_kib"] - base["heap_used_kib"]) * 1024 / max(out["clients"], 1))
        w = out["work"]
        log("  %d clients logged in (%d failed); %s queries (%s/s) on %s distinct clients, %s errors, p50 %s ms, p99 %s ms; "
            "server peak %s connections; heap %s B/client" % (
                out["clients"], out["login_failed"], w.get("queries"), w.get("per_sec"), w.get("clients_used"),
                w.get("errors"), w.get("p50_ms"), w.get("p99_ms"), out["server_peak"], out["heap_per_client_b"]))
    finally:
        quit_idle_clients(client)
        out["sluice_log"] = log_problems(sl.log_path)
        sl.stop()
    return out


def quit_idle_clients(client):
    """Tells a LoadClient in idle mode to close its clients and stops it (None: nothing started)."""
    if client is None:
        return
    try:
        client.stdin.write(b"quit\n")
        client.stdin.flush()
    except OSError:
        pass
    stop(client, 30)


def read_line_bounded(stream, timeout):
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline().decode(errors="replace")), daemon=True)
    t.start()
    t.join(timeout)
    return box[0].strip() if box else None


# ---------------------------------------------------------------- report

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=0):
    if x is None:
        return "-"
    return ("{:,.%df}" % nd).format(x)


def ratio_cell(rs):
    rs = [r for r in rs if r is not None]
    if not rs:
        return "-"
    return "%.2f (%.2f–%.2f)" % (statistics.median(rs), min(rs), max(rs))


def cfg_warmup_duration(m):
    return m.get("run_seconds", 8)


def report_matrix(m):
    out = []
    targets = m["targets"]
    runs = m["runs"]
    for test in sorted({r["test"] for r in runs}, key=lambda t: t != "oltp_point_select"):
        unit = "query" if test == "oltp_point_select" else "transaction (20 queries)"
        out.append("\n#### %s (latency per %s)\n" % (test, unit))
        out.append("| threads | target | QPS median (min–max) | p50 ms | p95 ms | p99 ms | errors | server CPU s | proxy CPU s | sysbench CPU s | other CPU s | softirq / steal s |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for th in sorted({r["threads"] for r in runs if r["test"] == test}):
            for t in targets:
                rs = [r for r in runs if r["test"] == test and r["threads"] == th and r["target"] == t]
                if not rs:
                    continue
                q = [r.get("qps") for r in rs if r.get("qps") is not None]
                errs = sum((r.get("ignored_errors") or 0) for r in rs)
                fatal = sum(1 for r in rs if r.get("fatal"))
                out.append("| %d | %s | %s (%s–%s) | %s | %s | %s | %s%s | %s | %s | %s | %s | %s |" % (
                    th, t, fmt(med(q)), fmt(min(q) if q else None), fmt(max(q) if q else None),
                    fmt(med([r.get("p50_ms") for r in rs]), 3), fmt(med([r.get("p95_ms") for r in rs]), 3),
                    fmt(med([r.get("p99_ms") for r in rs]), 3), errs, " (%d runs failed)" % fatal if fatal else "",
                    fmt(med([r.get("server_cpu_s") for r in rs]), 1), fmt(med([r.get("proxy_cpu_s") for r in rs]), 1),
                    fmt(med([r.get("client_cpu_s") for r in rs]), 1), fmt(med([r.get("other_cpu_s") for r in rs]), 1),
                    softirq_steal(rs)))
        out.append("\nRatios of QPS, per repeat (median, min–max over repeats):\n")
        hdr = ["threads", "Sluice/direct", "Sluice/relay", "relay/direct"]
        if "sluice-txn" in targets:
            hdr += ["Sluice txn/direct", "Sluice txn/relay"]
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "---|" * len(hdr))
        for th in sorted({r["threads"] for r in runs if r["test"] == test}):
            by = {}
            for r in runs:
                if r["test"] == test and r["threads"] == th:
                    by[(r["target"], r["repeat"])] = r.get("qps")
            reps = sorted({k[1] for k in by})

            def ratios(a, b):
                return [by[(a, i)] / by[(b, i)] if by.get((a, i)) and by.get((b, i)) else None for i in reps]
            cells = [str(th), ratio_cell(ratios("sluice", "direct")), ratio_cell(ratios("sluice", "relay")),
                     ratio_cell(ratios("relay", "direct"))]
            if "sluice-txn" in targets:
                cells += [ratio_cell(ratios("sluice-txn", "direct")), ratio_cell(ratios("sluice-txn", "relay"))]
            out.append("| " + " | ".join(cells) + " |")
        out.append("\nProxy cost per query (median of repeats; CPU over the whole run, warm-up included, "
                   "divided by every query of the run):\n")
        out.append("| threads | target | CPU µs/query (user + sys) | context switches/query | JIT CPU s in one run (max) |")
        out.append("|---|---|---|---|---|")
        for th in sorted({r["threads"] for r in runs if r["test"] == test}):
            for t in targets[1:]:
                rs = [r for r in runs if r["test"] == test and r["threads"] == th and r["target"] == t
                      and r.get("all_queries")]
                if not rs:
                    continue
                u = med([r.get("proxy_user_s", 0) / r["all_queries"] * 1e6 for r in rs])
                y = med([r.get("proxy_sys_s", 0) / r["all_queries"] * 1e6 for r in rs])
                cs = med([r["proxy_context_switches"] / r["all_queries"] for r in rs if "proxy_context_switches" in r])
                jit = [r["proxy_jit_s"] for r in rs if "proxy_jit_s" in r]
                out.append("| %d | %s | %.1f (%.1f + %.1f) | %s | %s |" % (th, t, u + y, u, y, fmt(cs, 2),
                                                                  fmt(max(jit), 2) if jit else "-"))
        limit = 0.25 * cfg_warmup_duration(m)
        disturbed = sorted({(r["threads"], r["target"]) for r in runs if r["test"] == test
                            and (r.get("other_cpu_s") or 0) > limit})
        if disturbed:
            out.append("\nDisturbed (another process used more than %.1f CPU s during at least one repeat): %s." % (
                limit, ", ".join("%d threads %s" % d for d in disturbed)))
        if test == "oltp_point_select":
            d = [r.get("p50_ms") for r in runs if r["test"] == test and r["threads"] == 1 and r["target"] == "direct"]
            s = [r.get("p50_ms") for r in runs if r["test"] == test and r["threads"] == 1 and r["target"] == "sluice"]
            rl = [r.get("p50_ms") for r in runs if r["test"] == test and r["threads"] == 1 and r["target"] == "relay"]
            if med(d) is not None and med(s) is not None:
                out.append("\nAdded p50 latency at 1 thread (median of repeats): Sluice %+.0f µs, relay %s over direct." % (
                    (med(s) - med(d)) * 1000, "%+.0f µs" % ((med(rl) - med(d)) * 1000) if med(rl) is not None else "-"))
    return "\n".join(out)


def codes(d):
    if not d:
        return "0"
    return ", ".join("%s×%s" % (v, {"-2": "I/O", "-1": "protocol"}.get(k, k)) for k, v in sorted(d.items()))


def report_overload(rows, kind):
    out = []
    repeated = any(r.get("repeat", 1) > 1 for r in rows)
    if kind == "storm":
        out.append("| clients | target | tx/s | completed tx | errors (count × code) | connects | server peak Threads_connected (Max_used) | acquire wait p99 / max ms | tx p99 ms | CPU s server / Sluice / clients / other |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if "error" in r:
                out.append("| %d | %s | failed: %s |||||||" % (r["threads"], r["target"], r["error"][:120]))
                continue
            errs = {}
            for part in ("connect_errors", "tx_errors"):
                for k, v in (r.get(part) or {}).items():
                    errs[k] = errs.get(k, 0) + v
            out.append("| %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s |" % (
                clients_cell(r, repeated), r["target"], fmt(r.get("tps")), fmt(r.get("transactions")), codes(errs),
                fmt(r.get("connects")), r.get("server_peak_threads_connected"), r.get("server_max_used_connections"),
                "%s / %s" % (r.get("acquire_p99_ms"), r.get("acquire_max_ms")) if "acquire_p99_ms" in r else "-",
                fmt(r.get("p99_ms"), 1), cpu_cell(r)))
        out.append(overload_ratios(rows, "tps"))
    else:
        out.append("| threads | target | connections/s | errors (count × code) | server peak Threads_connected (Max_used) | p99 ms per connection | acquire wait p99 / max ms | CPU s server / Sluice / clients / other |")
        out.append("|---|---|---|---|---|---|---|---|")
        for r in rows:
            if "error" in r:
                out.append("| %d | %s | failed: %s |||||" % (r["threads"], r["target"], r["error"][:120]))
                continue
            out.append("| %d | %s | %s | %s | %s (%s) | %s | %s | %s |" % (
                r["threads"], r["target"], fmt(r.get("per_sec")), codes(r.get("by_code")),
                r.get("server_peak_threads_connected"), r.get("server_max_used_connections"), fmt(r.get("p99_ms"), 1),
                "%s / %s" % (r.get("acquire_p99_ms"), r.get("acquire_max_ms")) if "acquire_p99_ms" in r else "-",
                cpu_cell(r)))
    return "\n".join(out)


def clients_cell(r, repeated):
    """The client count, with the repeat's number when the runs were repeated."""
    return "%d #%d" % (r["threads"], r.get("repeat", 1)) if repeated else "%d" % r["threads"]


def overload_ratios(rows, field):
    """Per client count: each Sluice mode's `field` over direct's in the same repeat, as the median
    (min–max) over repeats; a run that failed has no ratio."""
    by = {}
    for r in rows:
        if "error" not in r and r.get(field):
            by[(r["threads"], r["target"], r.get("repeat", 1))] = r[field]
    targets = [t for t in ("sluice-txn", "sluice") if any(k[1] == t for k in by)]
    if not targets:
        return ""
    out = ["", "| clients | repeats | " + " | ".join("%s / direct (median, min–max)" % t for t in targets) + " |",
           "|---|---|" + "---|" * len(targets)]
    for threads in sorted({k[0] for k in by}):
        repeats = sorted({k[2] for k in by if k[0] == threads and k[1] == "direct"})
        cells = []
        for t in targets:
            cells.append(ratio_cell([by[(threads, t, n)] / by[(threads, "direct", n)] for n in repeats
                                     if (threads, t, n) in by]))
        out.append("| %d | %d | %s |" % (threads, len(repeats), " | ".join(cells)))
    return "\n".join(out)


def softirq_steal(rs):
    """Median softirq / steal seconds of runs; "-" for runs recorded before the harness kept them."""
    if not any("steal_s" in r for r in rs):
        return "-"
    return "%s / %s" % (fmt(med([r.get("softirq_s") for r in rs]), 1), fmt(med([r.get("steal_s") for r in rs]), 1))


def cpu_cell(r):
    return "%s / %s / %s / %s" % (fmt(r.get("server_cpu_s"), 1), fmt(r.get("proxy_cpu_s"), 1) if r.get("proxy_cpu_s") else "-",
                                  fmt(r.get("client_cpu_s"), 1), fmt(r.get("other_cpu_s"), 1))


def report_multiplex(m):
    w = m.get("work", {})
    rows = ["| clients (asked) | pool | logins failed | queries (per s) | clients that ran one | errors | p50 ms | p99 ms "
            "| server peak | heap per client (B) |",
            "|---|---|---|---|---|---|---|---|---|---|",
            "| %s (%s) | %s | %s | %s (%s) | %s | %s %s | %s | %s | %s | %s |" % (
                m.get("clients"), m.get("clients_asked"), m.get("pool"), m.get("login_failed"), w.get("queries"),
                w.get("per_sec"), w.get("clients_used"), w.get("errors"), w.get("by_code") or "", w.get("p50_ms"),
                w.get("p99_ms"), m.get("server_peak"), m.get("heap_per_client_b"))]
    return "\n".join(rows) + "\n"


def report_memory(mem):
    out = ["| idle clients | Sluice sees | RSS MiB | heap after GC MiB | heap per client (B) | RSS per client (B) | login time (s) |",
           "|---|---|---|---|---|---|---|"]
    for r in mem["levels"]:
        out.append("| %s | %s | %.1f | %.1f | %s | %s | %s |" % (
            fmt(r["clients"]), fmt(r.get("sluice_clients")) if r["clients"] else "-", r["rss_kib"] / 1024,
            (r["heap_used_kib"] or 0) / 1024, fmt(r.get("heap_per_client_b")) if r["clients"] else "-",
            fmt(r.get("rss_per_client_b")) if r["clients"] else "-",
            "%.1f" % (r["login_ms"] / 1000) if r.get("login_ms") is not None else "-"))
    return "\n".join(out)


BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
JMH_JAR = os.path.join(BENCH, "jmh", "target", "benchmarks.jar")


def newest_mtime(paths):
    """The latest modification time of these files and of every file below these directories."""
    times = [os.path.getmtime(p) for p in paths if os.path.isfile(p)]
    times += [os.path.getmtime(os.path.join(d, f)) for p in paths if os.path.isdir(p)
              for d, _, files in os.walk(p) for f in files]
    return max(times, default=0)


def build_jmh():
    """Builds JMH_JAR when it is missing or older than the sources it measures; None, or what failed.
    The JMH module is outside the root build and takes sluice-proxy from ~/.m2, so proxy is
    installed first; JMH itself may come from Maven Central."""
    sources = [os.path.join(ROOT, p) for p in ("config/src/main", "proxy/src/main", "pom.xml")] + [
        os.path.join(BENCH, "jmh", p) for p in ("src", "pom.xml")]
    if os.path.exists(JMH_JAR) and newest_mtime(sources) <= os.path.getmtime(JMH_JAR):
        return None
    log("jmh: building %s" % os.path.relpath(JMH_JAR, ROOT))
    with open(os.path.join(LOGS, "jmh-build.log"), "wb") as out:
        for argv in (["mvn", "-B", "-q", "-pl", "proxy", "-am", "install", "-DskipTests"],
                     ["mvn", "-B", "-q", "-f", os.path.join(BENCH, "jmh", "pom.xml"), "package"]):
            if subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode != 0:
                return "`%s` failed; see logs/jmh-build.log" % " ".join(argv[:6])
    return None


def phase_jmh(cfg):
    """JMH microbenchmarks of the hot path (frame decode and forward, OK/EOF/ERR status parse, state
    diff) with -prof gc: time and bytes allocated per operation. Runs last, on an idle machine (the
    server is idle by then). Quick runs use one short iteration each: it proves the jar runs, and its
    numbers mean nothing."""
    failed = build_jmh()
    if failed:
        return {"error": failed}
    out = os.path.join(cfg.out, "jmh.json")
    argv = ["java", "-jar", JMH_JAR, "-prof", "gc", "-rf", "json", "-rff", out]
    if cfg.quick:
        argv += ["-f", "1", "-wi", "1", "-w", "100ms", "-i", "1", "-r", "200ms"]
    log("jmh: %s" % " ".join(argv[3:]))
    try:
        p = subprocess.run(argv, stdout=open(os.path.join(LOGS, "jmh.log"), "wb"), stderr=subprocess.STDOUT,
                           timeout=300 if cfg.quick else 3600)
    except subprocess.TimeoutExpired:
        return {"error": "JMH did not finish in time; see logs/jmh.log"}
    if p.returncode != 0 or not os.path.exists(out):
        return {"error": "JMH exited with code %d; see logs/jmh.log" % p.returncode}
    rows = []
    with open(out) as f:
        for b in json.load(f):
            sec = b.get("secondaryMetrics", {})
            alloc = sec.get("gc.alloc.rate.norm") or sec.get("\u00b7gc.alloc.rate.norm")
            pm = b["primaryMetric"]
            rows.append({"benchmark": ".".join(b["benchmark"].split(".")[-2:]), "params": b.get("params") or {},
                         "mode": b["mode"], "score": pm["score"], "error": pm.get("scoreError"),
                         "unit": pm["scoreUnit"], "alloc_b_per_op": alloc["score"] if alloc else None})
    log("jmh: %d benchmarks" % len(rows))
    return {"runs": rows, "options": [a for a in argv[3:] if a not in ("-rf", "json", "-rff", out)]}


def report_jmh(j):
    if "error" in j:
        return "not run: " + j["error"] + "\n"
    out = ["| benchmark | params | score (± error) | unit | allocated B/op |", "|---|---|---|---|---|"]
    for r in j["runs"]:
        err = as_number(r["error"])  # JMH writes "NaN" when there was one iteration
        err = "" if err is None or math.isnan(err) else " ± %s" % fmt_sig(err)
        out.append("| %s | %s | %s%s | %s | %s |" % (
            r["benchmark"], ", ".join("%s=%s" % kv for kv in sorted(r["params"].items())) or "-",
            fmt_sig(r["score"]), err, r["unit"],
            "-" if r["alloc_b_per_op"] is None else "%.1f" % r["alloc_b_per_op"]))
    return "\n".join(out) + ("\n\nJMH options: `%s`; the warm-up and measurement are each class's own (`@Warmup`, "
                              "`@Measurement`) unless these set them. An op is the benchmark's unit of work: "
                              "for FrameForwardBenchmark a whole result of `rows` rows.\n" % " ".join(j["options"]))


def as_number(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_sig(x):
    """A JMH score with about four significant digits."""
    return "%.4g" % x if abs(x) < 1e4 else "{:,.0f}".format(x)


def write_report(res, path):
    lines = ["# Sluice benchmark run %s%s" % (res["started"], " (quick)" if res["config"]["quick"] else ""), ""]
    lines.append("Machine: %s; %s cores; %s. Versions: %s." % (
        res["machine"]["cpu"], res["machine"]["nproc"], res["machine"]["mem"],
        ", ".join("%s %s" % kv for kv in res["versions"].items())))
    lines.append("Load average (1/5/15 min) at start %s, at end %s; \"other CPU\" columns are CPU seconds used "
                 "during a run by other processes (kernel threads such as ksoftirqd included); since run P3 they leave out "
                 "softirq and steal time, which the matrix shows in a column of their own." % (
                     "/".join(res["machine"]["loadavg_at_start"]), "/".join(res.get("loadavg_at_end", []))))
    lines.append("Config: %s" % json.dumps(res["config"]))
    lines.append("Transaction mode: %s" % ("available" if res["txn"]["available"] else
                                            "not yet available — " + res["txn"]["why"]))
    if "matrix" in res:
        lines.append("\n## sysbench matrix\n" + report_matrix(res["matrix"]))
        for k, v in res["matrix"]["sluice_log"].items():
            lines.append("\n%s log: %d warning/error lines%s" % (k, v["count"], "".join("\n    " + x for x in v["first"])))
    if "storm" in res:
        lines.append("\n## storm (max_connections %d, Sluice cap %d)\n" % (
            res["config"]["overload_max_connections"], res["config"]["overload_pool"]) + report_overload(res["storm"], "storm"))
    split = res.get("storm_split")
    if split is not None:
        lines.append("\n## storm, split CPUs (server on CPU %s; Sluice and the load client on CPU %s)\n" % (
            ",".join(map(str, split.get("server_cpus", []))), ",".join(map(str, split.get("other_cpus", []))))
            + (report_overload(split["runs"], "storm") if "runs" in split else "skipped: " + split["skipped"]))
    if "churn" in res:
        lines.append("\n## churn (max_connections %d, Sluice cap %d)\n" % (
            res["config"]["overload_max_connections"], res["config"]["overload_pool"]) + report_overload(res["churn"], "churn"))
    for kind in ("storm", "storm_split", "churn"):
        rows = res.get(kind, [])
        for r in rows.get("runs", []) if isinstance(rows, dict) else rows:
            if r.get("sluice_log", {}).get("count"):
                lines.append("\n%s %s %d: Sluice log has %d warning/error lines%s" % (
                    kind, r["target"], r["threads"], r["sluice_log"]["count"],
                    "".join("\n    " + x for x in r["sluice_log"]["first"][:4])))
    if "memory" in res:
        lines.append("\n## memory\n" + report_memory(res["memory"]))
    if "multiplex" in res:
        lines.append("\n## multiplex\n" + report_multiplex(res["multiplex"]))
    if "cluster" in res:
        lines.append("\n## cluster (primary + 2 GTID replicas)\n" + report_cluster(res["cluster"]))
    if "jmh" in res:
        lines.append("\n## JMH (hot path, `-prof gc`)\n" + report_jmh(res["jmh"]))
    lines.append("\nWall time: %.0f s" % res["wall_s"])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


RUN_RECORDS = os.path.join(ROOT, "bench", "results")


def run_folder(name):
    """"Run U" -> "run-U": the folder under bench/results/ that keeps a named run's tables and notes."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", name.strip()).strip("-")
    if not slug:
        raise ValueError("--docs needs a run name, e.g. \"Run U\"")
    return "run-" + (slug[4:] if slug.lower().startswith("run-") else slug)


def write_docs(res, report_path, name, records=RUN_RECORDS):
    """Keeps a run's report as bench/results/run-NAME/README.md (git-tracked, unlike the timestamped
    output folders), headed "# NAME (date, commit)"; machine, versions, date and config come with it.
    docs/benchmarks.md, the report, is written by hand: its current numbers and its index of runs."""
    with open(report_path) as f:
        report = f.read().splitlines()
    title = "%s, `%s`" % (res["started"], res["versions"].get("sluice", "?"))
    folder = os.path.join(records, run_folder(name))
    path = os.path.join(folder, "README.md")
    if os.path.exists(path):
        raise SystemExit("harness: %s exists; pick another run name" % os.path.normpath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(["# %s (%s)" % (name, title)] + report[1:]).rstrip("\n") + "\n")
    log("wrote %s; add a line for it to the index of runs in docs/benchmarks.md" % os.path.normpath(path))


# ---------------------------------------------------------------- main

def machine_and_versions(label):
    def first(argv, pattern=None):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            text = (out.stdout + out.stderr).strip()
            return text.splitlines()[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split(":")[1].strip()
    return ({"cpu": cpu, "nproc": os.cpu_count(), "mem": "MemTotal " + mem, "kernel": os.uname().release,
             "loadavg_at_start": open("/proc/loadavg").read().split()[:3]},
            {"java": first(["java", "-version"]), "mariadb": first(["mariadbd", "--version"]),
             "sysbench": first(["sysbench", "--version"]), "haproxy": first(["haproxy", "-v"]),
             "sluice": label})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report-only", metavar="DIR", help="rewrite DIR/report.md from DIR/results.json and exit")
    ap.add_argument("--docs", metavar="NAME", help="also keep the report as bench/results/run-NAME/README.md, "
                    "tracked by git, e.g. --docs \"Run U\" writes bench/results/run-U/README.md (not with --quick)")
    ap.add_argument("--work", help="scratch directory (made and removed by run.sh)")
    ap.add_argument("--jar")
    ap.add_argument("--sluice-label", default="?", help="which Sluice the jar is (commit), for the report")
    ap.add_argument("--classes", help="compiled bench/java classes")
    ap.add_argument("--out", help="results directory")
    ap.add_argument("--quick", action="store_true", help="smoke run for CI, about 90 s: every phase, tiny sizes")
    ap.add_argument("--phases", default="matrix,storm,storm-split,churn,memory,multiplex,jmh", help="comma-separated phases to run; "
                    "also cluster (opt-in: a primary and two replicas)")
    ap.add_argument("--modes", default="session,transaction", help="Sluice pool modes to try")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--duration", type=int, help="measured seconds per sysbench run")
    ap.add_argument("--storm-repeats", type=int, help="storm and storm-split: direct/Sluice rounds per client "
                    "count (default 3; quick 1)")
    ap.add_argument("--warmup", type=int, help="unmeasured seconds at the start of each sysbench run")
    ap.add_argument("--threads", help="comma-separated sysbench thread counts")
    ap.add_argument("--cluster-threads", default="8,32", help="comma-separated sysbench thread counts of the "
                    "cluster phase (default 8,32)")
    ap.add_argument("--tests", help="comma-separated sysbench tests (default oltp_point_select,oltp_read_write)")
    ap.add_argument("--db-ps-mode", default="disable", choices=["disable", "auto"],
                    help="sysbench --db-ps-mode for every target (default disable: the text protocol keeps the four "
                         "targets' traffic identical; with auto, Sluice's transaction mode virtualizes sysbench's "
                         "server-side prepared statements, see docs/multiplexing.md)")
    ap.add_argument("--sluice-java-opts", default="", help="extra JVM options for Sluice, e.g. for JFR "
                    "(write it as --sluice-java-opts=-XX:...)")
    ap.add_argument("--sluice-conf", action="append", default=[],
                    help="extra Sluice setting, HOCON, e.g. sluice.listen.io-threads=1 (repeatable)")
    cfg = ap.parse_args()
    if cfg.report_only:
        with open(os.path.join(cfg.report_only, "results.json")) as f:
            res = json.load(f)
        write_report(res, os.path.join(cfg.report_only, "report.md"))
        if cfg.docs:
            write_docs(res, os.path.join(cfg.report_only, "report.md"), cfg.docs)
        return
    if cfg.docs and cfg.quick:
        ap.error("--docs with --quick: a smoke run's numbers mean nothing and do not belong in the docs")
    if not (cfg.work and cfg.jar and cfg.classes and cfg.out):
        ap.error("--work, --jar, --classes and --out are required (run.sh passes them)")
    global WORK, LOGS, SLUICE_CONF
    WORK = cfg.work
    LOGS = os.path.join(cfg.out, "logs")
    os.makedirs(LOGS, exist_ok=True)
    q = cfg.quick
    cfg.tests = cfg.tests.split(",") if cfg.tests else (
        ["oltp_point_select"] if q else ["oltp_point_select", "oltp_read_write"])
    cfg.threads = [int(t) for t in cfg.threads.split(",")] if cfg.threads else ([8] if q else [1, 8, 32, 128])
    # 5, not 3: with 3 the 8- and 32-thread ratios against the relay moved by more between runs
    # than any change between them did (bench/results/run-K/ to run-O/)
    cfg.repeats = cfg.repeats or (1 if q else 5)
    cfg.duration = cfg.duration or (1 if q else 6)
    cfg.warmup = cfg.warmup or (1 if q else 2)
    cfg.tables, cfg.table_size = (2, 1000) if q else (4, 10000)
    cfg.max_connections = 500                 # matrix server, as in the 128-thread target
    cfg.session_pool = 150                    # session mode holds a backend per client: >= 128 threads
    cfg.txn_pool = 8                          # the "small pool" for transaction mode
    cfg.overload_max_connections = 50         # storm and churn server
    cfg.overload_pool = 40                    # Sluice's cap there, below the server's limit
    cfg.overload_warmup = 0 if q else 10     # unmeasured rounds of the same load on each fresh Sluice (JIT)
    cfg.overload_warmup_rounds = 5           # at most; fewer once a round compiles next to nothing
    cfg.matrix_warmup = 0 if q else 6        # unmeasured sysbench per test on each proxy before the matrix
    cfg.storm_factors = [4] if q else [4, 20]
    cfg.storm_seconds = 2 if q else 15
    # 3, not 1: a single storm pair moved by up to ±25% between runs, as the host's speed drifted
    # (bench/results/run-Q/README.md, "Run Q, and what changed after run P3")
    cfg.storm_repeats = cfg.storm_repeats or (1 if q else 3)
    cfg.churn_threads = 200
    cfg.churn_seconds = 2 if q else 10
    cfg.memory_levels = [200] if q else [1000, 5000, 10000]
    cfg.multiplex_clients = 300 if q else 5000
    cfg.multiplex_pool = 20
    cfg.multiplex_qps = 200 if q else 1000
    cfg.multiplex_seconds = 2 if q else 30
    cfg.cluster_threads = [int(t) for t in cfg.cluster_threads.split(",")]
    cfg.sluice_java_opts = cfg.sluice_java_opts.split()
    if cfg.sluice_conf:
        SLUICE_CONF = os.path.join(WORK, "sluice-extra.conf")
        with open(SLUICE_CONF, "w") as f:
            f.write("\n".join(cfg.sluice_conf) + "\n")
    phases = cfg.phases.split(",")

    def on_signal(sig, _frame):
        log("signal %d: cleaning up" % sig)
        sys.exit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(stop_all)

    t0 = time.time()
    machine, versions = machine_and_versions(cfg.sluice_label)
    res = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine, "versions": versions,
           "config": {k: getattr(cfg, k) for k in (
               "quick", "tests", "threads", "repeats", "duration", "warmup", "tables", "table_size", "db_ps_mode",
               "max_connections", "session_pool", "txn_pool", "overload_max_connections", "overload_pool",
               "overload_warmup", "overload_warmup_rounds", "matrix_warmup",
               "storm_factors", "storm_seconds", "storm_repeats", "churn_threads", "churn_seconds", "memory_levels",
               "multiplex_clients", "multiplex_pool", "multiplex_qps", "multiplex_seconds",
               "sluice_java_opts", "sluice_conf") + (("cluster_threads",) if "cluster" in cfg.phases.split(",") else ())}}
    log("starting MariaDB (max_connections %d)" % cfg.max_connections)
    server = Server(cfg.max_connections).start()
    log("sysbench prepare: %d tables x %d rows" % (cfg.tables, cfg.table_size))
    subprocess.run(["sysbench", "oltp_read_write"] + sysbench_args(cfg, server.port, min(cfg.tables, 4)) + ["prepare"],
                   stdout=open(os.path.join(LOGS, "sysbench-prepare.log"), "wb"), stderr=subprocess.STDOUT,
                   check=True, timeout=600)
    if "transaction" in cfg.modes.split(","):
        res["txn"] = probe_transaction_mode(cfg, server)
    else:
        res["txn"] = {"available": False, "why": "not requested (--modes)"}
    log("transaction mode: %s" % ("available" if res["txn"]["available"] else "not yet available: " + res["txn"]["why"]))
    if "matrix" in phases:
        server.set_max_connections(cfg.max_connections)
        res["matrix"] = phase_matrix(cfg, server, res["txn"])
    if "storm" in phases:
        res["storm"] = phase_storm(cfg, server, res["txn"])
    if "storm-split" in phases:
        res["storm_split"] = phase_storm_split(cfg, server, res["txn"])
    if "churn" in phases:
        res["churn"] = phase_churn(cfg, server, res["txn"])
    if "memory" in phases:
        res["memory"] = phase_memory(cfg, server)
    if "multiplex" in phases:
        res["multiplex"] = phase_multiplex(cfg, server)
    if "cluster" in phases:
        res["cluster"] = phase_cluster(cfg, res["txn"])
    if "jmh" in phases:
        res["jmh"] = phase_jmh(cfg)
    res["wall_s"] = time.time() - t0
    res["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    with open(os.path.join(cfg.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_report(res, os.path.join(cfg.out, "report.md"))
    if cfg.docs:
        write_docs(res, os.path.join(cfg.out, "report.md"), cfg.docs)
    if os.path.exists(os.path.join(WORK, "haproxy.cfg")):
        shutil.copy(os.path.join(WORK, "haproxy.cfg"), LOGS)
    log("done in %.0f s: %s" % (res["wall_s"], os.path.join(cfg.out, "report.md")))


if __name__ == "__main__":
    main()
