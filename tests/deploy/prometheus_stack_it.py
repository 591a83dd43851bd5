#!/usr/bin/python3
"""Integration test (ctest deploy_prometheus_stack_it, labels integration;deploy): a real
Prometheus (Debian's package) scrapes the real services and evaluates the real alert rules.

  prometheus_stack_it.py --source-dir DIR --agent-registry BIN --queue-service BIN
      --media-relay BIN --cc-migrate BIN --ccctl BIN --probe BIN [--signaling-edge BIN]

Needs CC_TEST_PG_ADMIN_URL and CC_TEST_NATS_URL (tools/test.sh sets them). It creates its
own database (dropped at the end) and NATS subject prefix, starts every service given on free
loopback ports, waits for each through cc-grpc-health (the containers' health check, so the
probe is tested too), makes a little activity (a queue, an agent that logs in, and with the
edge a REGISTER answered with a challenge and one with wrong credentials), then starts
Prometheus with deploy/prometheus/prometheus.yml (targets rewritten to the loopback ports,
1 s scrape interval, the same alerts.yml) and checks through its HTTP API that:
- every service is scraped: up{cc_service=...} == 1;
- the core metrics the dashboard uses exist for each service (the list below, checked to be
  a subset of the dashboard's metrics);
- every alert rule loaded and evaluates without error against the real series;
- a service that stops (SIGTERM, drained) turns up to 0 and CallcenterServiceDown pending.
Every process it starts is stopped (and dies with it if it is killed).
"""

import argparse
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_observability import dashboard_metrics  # noqa: E402

# Metrics each service must export once started and given the activity above. Labelled
# families without children are not exported at all, hence "given the activity".
CORE = {
    "agent-registry": {
        "cc_agents", "cc_agents_routable", "cc_agent_bindings", "cc_registrations_total",
        "cc_agent_status_changes_total", "cc_agent_bindings_expired_total",
        "cc_event_publish_failures", "cc_grpc_server_handled_total",
        "cc_grpc_server_handling_seconds_bucket",
    },
    "queue-service": {
        "cc_queue_waiting_calls", "cc_queue_longest_wait_seconds", "cc_queue_service_level",
        "cc_queue_agents_available", "cc_queue_agents_busy", "cc_queue_answered_calls",
        "cc_queue_abandoned_calls", "cc_queue_average_speed_of_answer_seconds",
        "cc_queue_average_handle_time_seconds", "cc_enqueue_to_offer_seconds_bucket",
        "cc_match_pass_seconds_bucket", "cc_grpc_server_handled_total",
    },
    "media-relay": {
        "cc_relay_legs", "cc_relay_bridges", "cc_relay_ports_in_use", "cc_relay_ports_total",
        "cc_relay_packets_lost", "cc_relay_packets_total", "cc_relay_bytes_total",
        "cc_relay_dropped_packets_total", "cc_relay_send_errors_total",
    },
    "signaling-edge": {
        "cc_sip_dialogs", "cc_edge_live_calls", "cc_call_setup_seconds_bucket",
        "cc_sip_requests_total", "cc_sip_responses_total", "cc_registrations_total",
    },
}

PROCS = []  # (name, Popen, log path)
LOG_DIR = None


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die_with_parent():
    # The children die with this script even if ctest kills it on a timeout.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


def start(name, argv):
    path = os.path.join(LOG_DIR, f"{name}.log")
    f = open(path, "wb")
    p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=die_with_parent, env={**os.environ, "CC_ENV_FILE": "/dev/null"})
    f.close()
    PROCS.append((name, p, path))
    log(f"{name} started (pid {p.pid})")
    return p


def stop(name, p, timeout=10.0):
    if p.poll() is not None:
        return p.returncode
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop in {timeout} s: killing it")
        p.kill()
        return p.wait()


def free_tcp_ports(n, also_udp=False):
    socks, ports = [], []
    while len(ports) < n:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if also_udp:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(u)
        socks.append(s)
        ports.append(port)
    for s in socks:
        s.close()
    return ports


def with_database(url, db):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + db, parts.query, parts.fragment))


def psql(admin_url, sql):
    exe = shutil.which("psql")
    if exe is None:
        cands = sorted(p for p in (os.path.join("/usr/lib/postgresql", v, "bin", "psql")
                                   for v in os.listdir("/usr/lib/postgresql")) if os.path.exists(p))
        exe = cands[-1]
    subprocess.run([exe, "-X", "-q", "-v", "ON_ERROR_STOP=1", admin_url, "-c", sql], check=True,
                   capture_output=True, text=True, timeout=60)


def wait_healthy(probe, name, addr, proc, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
        r = subprocess.run([probe, addr, "--timeout-ms=500"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == "SERVING":
            log(f"{name} SERVING on {addr} (cc-grpc-health)")
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not SERVING on {addr} within {secs} s")


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def prom_query(base, q):
    d = http_json(f"{base}/api/v1/query?query={urllib.parse.quote(q)}")
    if d.get("status") != "success":
        raise RuntimeError(f"query {q} failed: {d}")
    return d["data"]["result"]


def until(what, fn, secs):
    deadline = time.time() + secs
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last is True or (last and last is not None and not isinstance(last, str)):
                return last
        except Exception as e:  # noqa: BLE001 (keep polling; report the last error)
            last = e
        time.sleep(0.3)
    raise AssertionError(f"{what} within {secs} s (last: {last})")


# --- SIP: a REGISTER challenged, then one with wrong credentials -----------------------------


def sip_register_wrong_password(port, realm_hint="callcenter.local"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    lport = s.getsockname()[1]
    call_id = f"{random.getrandbits(64):x}@127.0.0.1"
    tag = f"{random.getrandbits(32):x}"
    user = "promit-nobody"
    uri = f"sip:127.0.0.1:{port}"

    def send(cseq, extra=""):
        msg = (f"REGISTER {uri} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{random.getrandbits(48):x};rport\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: <sip:{user}@{realm_hint}>;tag={tag}\r\n"
               f"To: <sip:{user}@{realm_hint}>\r\n"
               f"Call-ID: {call_id}\r\n"
               f"CSeq: {cseq} REGISTER\r\n"
               f"Contact: <sip:{user}@127.0.0.1:{lport}>\r\n"
               f"Expires: 60\r\n{extra}"
               f"User-Agent: prometheus_stack_it\r\n"
               f"Content-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), ("127.0.0.1", port))
        while True:
            data = s.recv(65535).decode(errors="replace")
            status = int(data.split(" ", 2)[1])
            if status >= 200:
                return status, data

    try:
        status, resp = send(1)
        log(f"REGISTER without credentials: {status}")
        m = re.search(r"^WWW-Authenticate:\s*Digest\s+(.*)$", resp, re.M | re.I)
        if status != 401 or not m:
            raise AssertionError(f"expected a 401 challenge, got {status}")
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', m.group(1)))
        realm, nonce = params["realm"], params["nonce"]
        ha1 = hashlib.md5(f"{user}:{realm}:wrong-password".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
        auth = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
        if "auth" in params.get("qop", "").split(","):
            cnonce = f"{random.getrandbits(32):x}"
            resp_hash = hashlib.md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
            auth += f', qop=auth, nc=00000001, cnonce="{cnonce}"'
        else:
            resp_hash = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        auth += f', response="{resp_hash}"'
        if "opaque" in params:
            auth += f', opaque="{params["opaque"]}"'
        status, _ = send(2, f"Authorization: {auth}\r\n")
        log(f"REGISTER with a wrong password: {status}")
        if status not in (401, 403):
            raise AssertionError(f"a wrong password was answered {status}")
    finally:
        s.close()


def main():
    global LOG_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    for b in ("agent-registry", "queue-service", "media-relay", "cc-migrate", "ccctl", "probe"):
        ap.add_argument(f"--{b}", required=True)
    ap.add_argument("--signaling-edge", default="")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    args = ap.parse_args()
    args.source_dir = os.path.abspath(args.source_dir)

    admin = os.environ.get("CC_TEST_PG_ADMIN_URL")
    nats = os.environ.get("CC_TEST_NATS_URL")
    if not admin or not nats:
        print("CC_TEST_PG_ADMIN_URL / CC_TEST_NATS_URL are not set: run the tests through "
              "tools/test.sh, which starts PostgreSQL and NATS for them", file=sys.stderr)
        return 1
    if not os.path.exists(args.prometheus):
        print(f"no Prometheus at {args.prometheus} (Debian package prometheus)", file=sys.stderr)
        return 1

    services = ["agent-registry", "queue-service", "media-relay"]
    if args.signaling_edge:
        services.append("signaling-edge")
    else:
        log("signaling-edge not built: it is left out")
    dash = dashboard_metrics(os.path.join(args.source_dir, "deploy", "grafana", "dashboards", "callcenter.json"))
    for svc in services:
        extra = CORE[svc] - dash
        if extra:
            print(f"test bug: {sorted(extra)} are not used by the dashboard", file=sys.stderr)
            return 1

    LOG_DIR = tempfile.mkdtemp(prefix="cc-prom-it-")
    suffix = f"{os.getpid()}_{random.getrandbits(24):x}"
    db = f"cc_promit_{suffix}"
    prefix = f"promit{suffix}"
    db_created = False
    ok = False
    try:
        psql(admin, f'CREATE DATABASE "{db}"')
        db_created = True
        db_url = with_database(admin, db)
        subprocess.run([args.cc_migrate, f"--db-url={db_url}", "--log-level=warn"], check=True,
                       capture_output=True, text=True, timeout=60)
        log(f"database {db} created and migrated")

        ports = free_tcp_ports(2 * len(services) + 1)
        sip_port = free_tcp_ports(1, also_udp=True)[0]
        rtp_min = random.randrange(40000, 59000, 2)
        grpc = {s: ports[2 * i] for i, s in enumerate(services)}
        metrics = {s: ports[2 * i + 1] for i, s in enumerate(services)}
        prom_port = ports[-1]
        common = ["--log-format=json", "--drain-timeout=2s", f"--nats-url={nats}",
                  f"--nats-subject-prefix={prefix}"]
        procs = {}
        for svc in services:
            argv = [getattr(args, svc.replace("-", "_")), *common,
                    f"--grpc-listen=127.0.0.1:{grpc[svc]}", f"--metrics-listen=127.0.0.1:{metrics[svc]}",
                    f"--instance-id={svc}-promit"]
            if svc in ("agent-registry", "queue-service"):
                argv.append(f"--db-url={db_url}")
            if svc == "media-relay":
                argv += ["--rtp-bind=127.0.0.1", f"--rtp-port-min={rtp_min}", f"--rtp-port-max={rtp_min + 19}"]
            if svc == "signaling-edge":
                argv += [f"--sip-listen=127.0.0.1:{sip_port}", f"--edge-id=edge-promit-{suffix}",
                         f"--agent-registry=127.0.0.1:{grpc['agent-registry']}",
                         f"--queue-service=127.0.0.1:{grpc['queue-service']}",
                         f"--media-relay=127.0.0.1:{grpc['media-relay']}"]
            procs[svc] = start(svc, argv)
            wait_healthy(args.probe, svc, f"127.0.0.1:{grpc[svc]}", procs[svc])

        # Activity, so that the labelled families have children.
        def ccctl(server, *cmd):
            r = subprocess.run([args.ccctl, "--timeout", "30000", "--server", f"127.0.0.1:{server}", *cmd], capture_output=True,
                               text=True, timeout=60, env={**os.environ, "CC_ENV_FILE": "/dev/null"})
            if r.returncode != 0:
                raise RuntimeError(f"ccctl {' '.join(cmd)}: {r.stdout}{r.stderr}")
        ccctl(grpc["queue-service"], "queue", "create", "promit", "--name", "Prometheus IT")
        ccctl(grpc["agent-registry"], "agent", "create", "promit-a", "--user", "7001", "--password",
              "promit-secret", "--queue", "promit")
        ccctl(grpc["agent-registry"], "agent", "login", "promit-a")
        if "signaling-edge" in services:
            sip_register_wrong_password(sip_port)
        log("activity done: a queue, an agent logged in" + (", REGISTERs" if "signaling-edge" in services else ""))

        # Prometheus with the compose configuration, retargeted at loopback.
        with open(os.path.join(args.source_dir, "deploy", "prometheus", "prometheus.yml"), encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        cfg["global"]["scrape_interval"] = "1s"
        cfg["global"]["scrape_timeout"] = "1s"
        cfg["global"]["evaluation_interval"] = "1s"
        cfg["rule_files"] = [os.path.join(args.source_dir, "deploy", "prometheus", r) for r in cfg["rule_files"]]
        jobs = []
        for job in cfg["scrape_configs"]:
            sc = job["static_configs"][0]
            svc = sc.get("labels", {}).get("cc_service")
            if svc is None:  # Prometheus itself
                sc["targets"] = [f"127.0.0.1:{prom_port}"]
            elif svc in services:
                sc["targets"] = [f"127.0.0.1:{metrics[svc]}"]
            else:
                continue
            jobs.append(job)
        cfg["scrape_configs"] = jobs
        prom_cfg = os.path.join(LOG_DIR, "prometheus.yml")
        with open(prom_cfg, "w", encoding="utf-8") as f:
            yaml.safe_dump(cfg, f)
        start("prometheus", [args.prometheus, f"--config.file={prom_cfg}",
                             f"--storage.tsdb.path={os.path.join(LOG_DIR, 'tsdb')}",
                             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn",
                             "--web.enable-lifecycle"])
        base = f"http://127.0.0.1:{prom_port}"
        until("Prometheus ready", lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=2).status == 200, 30)

        # 1. every service scraped
        def all_up():
            got = {r["metric"].get("cc_service"): r["value"][1] for r in prom_query(base, 'up{cc_service!=""}')}
            return all(got.get(s) == "1" for s in services) or f"up: {got}"
        until("every service up", all_up, 20)
        log(f"up == 1 for {', '.join(services)}")

        # 2. the core metrics of the dashboard, per service
        missing = {}
        def core_present():
            missing.clear()
            for svc in services:
                rows = prom_query(base, f'count by (__name__) ({{__name__=~"cc_.+", cc_service="{svc}"}})')
                have = {r["metric"]["__name__"] for r in rows}
                if CORE[svc] - have:
                    missing[svc] = sorted(CORE[svc] - have)
            return not missing or f"missing {missing}"
        until("the dashboard's core metrics", core_present, 20)  # queue stats come every 5 s
        log(f"core metrics present: {sum(len(CORE[s]) for s in services)} over {len(services)} services")
        if "signaling-edge" in services:
            until("auth_failed counted at the edge", lambda: prom_query(
                base, 'cc_registrations_total{cc_service="signaling-edge",result="auth_failed"} >= 1'), 10)
            log("the edge counts the failed authentication (cc_registrations_total{result=\"auth_failed\"})")

        # 3. every alert rule loaded and evaluated without error
        with open(os.path.join(args.source_dir, "deploy", "prometheus", "alerts.yml"), encoding="utf-8") as f:
            want_rules = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
        def rules_ok():
            groups = http_json(f"{base}/api/v1/rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            names = {r["name"] for r in rules}
            bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
            if names != want_rules:
                return f"loaded {sorted(names)}"
            return not bad or f"unhealthy {bad}"
        until("every alert rule loaded and healthy", rules_ok, 15)
        firing = [a["labels"]["alertname"] for a in http_json(f"{base}/api/v1/alerts")["data"]["alerts"]
                  if a["state"] == "firing"]
        if firing:
            raise AssertionError(f"alerts firing on a healthy stack: {firing}")
        log(f"{len(want_rules)} alert rules loaded, healthy, none firing")

        # 4. a stopped service is seen down
        t0 = time.time()
        rc = stop("media-relay", procs["media-relay"])
        log(f"media-relay stopped with SIGTERM (exit {rc}, {time.time() - t0:.1f} s)")
        if rc != 0:
            raise AssertionError(f"media-relay exited {rc} on SIGTERM")
        until("up{cc_service=media-relay} == 0", lambda: prom_query(base, 'up{cc_service="media-relay"} == 0'), 15)
        until("CallcenterServiceDown pending for media-relay", lambda: [
            a for a in http_json(f"{base}/api/v1/alerts")["data"]["alerts"]
            if a["labels"]["alertname"] == "CallcenterServiceDown" and a["labels"].get("cc_service") == "media-relay"], 15)
        log("media-relay seen down: up == 0 and CallcenterServiceDown pending")
        ok = True
    except Exception as e:  # noqa: BLE001
        log(f"FAILED: {e}")
    finally:
        for name, p, path in reversed(PROCS):
            rc = stop(name, p)
            if not ok:
                with open(path, encoding="utf-8", errors="replace") as f:
                    tail = f.read().splitlines()[-15:]
                print(f"--- {name} (exit {rc}), last lines of its log:\n" + "\n".join(tail), file=sys.stderr)
        if db_created:
            try:
                psql(admin, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                log(f"could not drop {db}: {e}")
                ok = False
        if ok or not os.environ.get("CC_KEEP_CHILD_LOGS"):
            shutil.rmtree(LOG_DIR, ignore_errors=True)
        else:
            log(f"logs kept in {LOG_DIR}")
    log("passed" if ok else "failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
