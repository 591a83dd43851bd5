#!/usr/bin/python3
"""Integration test (ctest deploy_compose_stack_it, labels integration;deploy): the stack in
containers, started for real from docker-compose.yml and deploy/docker/*.Dockerfile.

  compose_stack_it.py --source-dir DIR [--keep-images] [--report FILE]

There is no Docker engine on the project's machines: Debian's podman serves the Docker API
that Debian's docker-compose (v1) drives, with the workarounds of ../shared/notes/podman.md
(a containers.conf of the test's own: no default ulimits, runc, netavark; health checks run
by the test, as podman 4.3 schedules them with systemd). As root, it:

1. installs podman, runc, netavark, aardvark-dns, debootstrap, docker-compose and sip-tester
   if missing;
2. makes the base image debian:bookworm (= debian:12 = debian:12-slim) from a debootstrap
   minbase root, slimmed like Debian's -slim images, with this machine's apt sources, unless
   podman already has it (podman's image store is the cache between runs);
3. builds the four service images as compose does (one `docker-compose build` each, timed,
   sizes recorded) and the stand-ins of tests/deploy/compose/ for PostgreSQL, NATS and
   Prometheus, whose images cannot be pulled here;
4. starts docker-compose.yml with tests/deploy/compose/override.yml, Grafana left out, on a
   network it makes (a free 10.89.x.0/24; its gateway, the host, is the phones' public
   address), SIP and RTP published on free host ports and the admin ports on ephemeral ones
   (a copy of the compose file that differs in nothing else), and waits for every service
   to be healthy;
5. on the wire, from the host: OPTIONS answered on the published SIP port; a queue and an
   agent created with ccctl inside the stack; the agent registered with digest auth (SIPp);
   a customer's call bridged to it with RTP counted both ways on the relay's legs; the
   INVITE to the agent carrying the advertised address in its Contact; Prometheus' targets
   all up;
6. scales agent-registry and queue-service to two replicas, stops the first of each, and
   puts one more call through;
7. `docker-compose down -v` and removes whatever of the project is left (containers,
   volumes, network). Images stay, as the cache of the next run (--keep-images is the
   default; they are named callcenter/* and callcenter-test/*).

Traffic goes only to the containers of the network it created. Prints one `ok:` / `FAIL:`
line per check and a table of build times and image sizes (also written to --report).
"""

import argparse
import contextlib
import ctypes
import fcntl
import ipaddress
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
import threading
import time
import urllib.request

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklog import fail, ok, summary  # noqa: E402

PACKAGES = ["podman", "runc", "netavark", "aardvark-dns", "iptables", "iproute2", "debootstrap",
            "docker-compose", "sip-tester"]
SERVICES = ["agent-registry", "queue-service", "media-relay", "signaling-edge"]
STAND_INS = ["postgres", "nats", "prometheus"]
# Everything but Grafana (not packaged in Debian 12, so no stand-in).
UP = ["postgres", "nats", "migrate", *SERVICES, "prometheus"]
LONG_RUNNING = ["postgres", "nats", *SERVICES, "prometheus"]
BASE_RECIPE = "1"  # the label of a base image made by this recipe; change it with the recipe
BASE_TAGS = ["docker.io/library/debian:bookworm", "docker.io/library/debian:12",
             "docker.io/library/debian:12-slim"]
CONTAINERS_CONF = """[containers]
default_ulimits = []
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
"""
SLIM_DPKG = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
"""
# As in Debian's images: no package cache kept after apt runs.
APT_CLEAN = """DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
AGENT_USER, AGENT_PASSWORD = "1001", "alice-secret"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die_with_parent():
    # A child dies with this script even if ctest kills it on a timeout.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


class Env:
    """Where the test's podman, compose project and logs are."""

    def __init__(self, source, work):
        self.source = source
        self.work = work
        self.sock = os.path.join(work, "podman.sock")
        self.project = "cctest" + "".join(random.choice("0123456789abcdef") for _ in range(6))
        self.compose_file = os.path.join(work, "docker-compose.yml")
        self.override = os.path.join(source, "tests/deploy/compose/override.yml")
        self.vars = {}
        conf = os.path.join(work, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": conf, "DOCKER_HOST": f"unix://{self.sock}",
                    "COMPOSE_HTTP_TIMEOUT": "600"}
        for k in list(self.env):  # nothing of the caller's settings reaches the compose file
            if k.startswith("CC_"):
                del self.env[k]

    def run(self, argv, timeout=120, check=True, quiet=False, **kw):
        if not quiet:
            log("$ " + " ".join(argv))
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env={**self.env, **self.vars}, **kw)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {p.returncode}:\n"
                               f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        return p

    def podman(self, *args, **kw):
        return self.run(["podman", *args], **kw)

    def compose_argv(self, *args):
        return ["docker-compose", "-p", self.project, "--project-directory", self.source,
                "-f", self.compose_file, "-f", self.override, *args]

    def compose(self, *args, **kw):
        return self.run(self.compose_argv(*args), **kw)

    def project_containers(self, all_=False):
        args = ["ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}"]
        if all_:
            args.insert(1, "-a")
        return self.podman(*args, quiet=True).stdout.split()


# --- 1. packages ------------------------------------------------------------------------

def ensure_packages():
    missing = [p for p in PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout.find("install ok installed") < 0]
    if not missing:
        return
    log(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=1200)


# --- 2. base image ----------------------------------------------------------------------

def debian_mirror():
    """This machine's Debian mirror (debootstrap needs one); deb.debian.org if none found."""
    sources = "/etc/apt/sources.list.d/debian.sources"
    if os.path.exists(sources):
        m = re.search(r"^URIs:\s*(\S+)", open(sources).read(), re.M)
        if m:
            return m.group(1)
    if os.path.exists("/etc/apt/sources.list"):
        m = re.search(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", open("/etc/apt/sources.list").read(), re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def image_label(env, image, label):
    p = env.podman("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', image,
                   check=False, quiet=True)
    return p.stdout.strip() if p.returncode == 0 else None


def make_base_image(env):
    with open("/var/lock/cc-compose-base-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(image_label(env, t, "cc.base-recipe") == BASE_RECIPE for t in BASE_TAGS):
            ok("base image debian:bookworm (= debian:12, debian:12-slim) already there (cached)")
            return 0.0
        t0 = time.time()
        root = tempfile.mkdtemp(prefix="cc-bookworm-", dir="/var/tmp")
        try:
            env.run(["debootstrap", "--variant=minbase", "bookworm", root, debian_mirror()], timeout=900)
            # Slim like Debian's -slim images: no apt lists or caches, no docs, man pages or
            # locales, now or from packages installed later.
            for d in ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                      "usr/share/locale", "usr/share/info"]:
                for e in os.listdir(os.path.join(root, d)):
                    p = os.path.join(root, d, e)
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p)
                    else:
                        os.unlink(p)
            with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/slim"), "w") as f:
                f.write(SLIM_DPKG)
            with open(os.path.join(root, "etc/apt/apt.conf.d/docker-clean"), "w") as f:
                f.write(APT_CLEAN)
            # The same apt sources as this machine (updates and security included).
            if os.path.exists("/etc/apt/sources.list.d/debian.sources"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(root, "etc/apt/sources.list"))
                shutil.copy("/etc/apt/sources.list.d/debian.sources", os.path.join(root, "etc/apt/sources.list.d/"))
            tar = subprocess.Popen(["tar", "-C", root, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
            env.run(["podman", "import", "--change", 'CMD ["bash"]', "--change",
                     f"LABEL cc.base-recipe={BASE_RECIPE}", "-", BASE_TAGS[0]], stdin=tar.stdout, timeout=600)
            tar.wait()
            for t in BASE_TAGS[1:]:
                env.podman("tag", BASE_TAGS[0], t)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        secs = time.time() - t0
        ok(f"base image debian:bookworm made from a debootstrap minbase root in {secs:.0f} s")
        return secs


# --- 3. images ----------------------------------------------------------------------------

def image_size_mb(env, image):
    out = env.podman("image", "inspect", "--format", "{{.Size}}", image, quiet=True).stdout.strip()
    return int(out) / 1e6


def build_images(env):
    rows = []
    for svc in SERVICES + STAND_INS:
        t0 = time.time()
        env.compose("build", svc, timeout=2400)
        secs = time.time() - t0
        image = yaml.safe_load(env.compose("config", quiet=True).stdout)["services"][svc]["image"]
        rows.append((svc, image, secs, image_size_mb(env, image)))
        log(f"built {image} in {secs:.0f} s")
    ok("the four service images and the three stand-ins built through docker-compose")
    return rows


# --- 4. the stack -------------------------------------------------------------------------

def free_subnet(env):
    used = env.run(["ip", "-4", "route"], quiet=True).stdout
    nets = json.loads(env.podman("network", "ls", "--format", "json", quiet=True).stdout or "[]")
    for n in nets:
        for s in n.get("subnets") or []:
            used += " " + s.get("subnet", "")
    for _ in range(200):
        x = random.randint(100, 249)
        if f"10.89.{x}." not in used:
            return ipaddress.ip_network(f"10.89.{x}.0/24")
    raise RuntimeError("no free 10.89.x.0/24 subnet")


def port_free(port, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_sip_port():
    for _ in range(500):
        p = random.randint(20000, 29999)
        if port_free(p):
            return p
    raise RuntimeError("no free SIP port")


def free_rtp_range(n):
    for _ in range(500):
        lo = random.randint(40000, 59000) // 2 * 2
        if all(port_free(p, (socket.SOCK_DGRAM,)) for p in range(lo, lo + n)):
            return lo, lo + n - 1
    raise RuntimeError("no free RTP range")


def copy_compose_file(env):
    """docker-compose.yml with each admin port (published on 127.0.0.1) on an ephemeral host
    port: the test may not take the fixed ones, and two replicas could not share one. An
    override cannot do this (compose adds its ports to the file's); nothing else changes."""
    with open(os.path.join(env.source, "docker-compose.yml")) as f:
        doc = yaml.safe_load(f)
    moved = 0
    for svc in doc["services"].values():
        ports = svc.get("ports") or []
        for i, p in enumerate(ports):
            m = re.fullmatch(r"127\.0\.0\.1:(\d+):(\d+)", str(p))
            if m:
                ports[i] = f"127.0.0.1::{m.group(2)}"
                moved += 1
    with open(env.compose_file, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return moved


class HealthPump:
    """Runs every health check of the project's containers every 2 s (podman 4.3 schedules
    them with systemd timers, which this machine has not): compose's service_healthy
    conditions and the test's waits see real health."""

    def __init__(self, env):
        self.env = env
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop_flag.wait(2):
            try:
                for c in self.env.project_containers():
                    self.env.podman("healthcheck", "run", c, check=False, quiet=True, timeout=20)
            except Exception as e:  # noqa: BLE001 (a container going away meanwhile)
                log(f"health pump: {e}")

    def stop(self):
        self.stop_flag.set()
        self.thread.join(30)


def container_states(env):
    """{container name: (compose service, state, health)} of the project's containers."""
    out = {}
    ids = env.project_containers(all_=True)
    if not ids:
        return out
    for c in json.loads(env.podman("inspect", *ids, quiet=True).stdout):
        labels = c["Config"].get("Labels") or {}
        health = (c["State"].get("Health") or c["State"].get("Healthcheck") or {}).get("Status", "")
        out[c["Name"].lstrip("/")] = (labels.get("com.docker.compose.service"), c["State"]["Status"], health)
    return out


def wait_healthy(env, want, secs):
    """Until every service in `want` (service -> replicas) has that many healthy containers."""
    deadline = time.time() + secs
    while time.time() < deadline:
        states = container_states(env)
        healthy = {}
        for svc, state, health in states.values():
            if state == "running" and health == "healthy":
                healthy[svc] = healthy.get(svc, 0) + 1
        if all(healthy.get(s, 0) >= n for s, n in want.items()):
            return True
        time.sleep(1)
    log(f"not healthy in {secs} s: {container_states(env)}")
    return False


def start_stack(env):
    t0 = time.time()
    p = subprocess.Popen(env.compose_argv("up", "-d", *UP), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env={**env.env, **env.vars},
                         preexec_fn=die_with_parent)
    out, _ = p.communicate(timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"docker-compose up failed:\n{out[-4000:]}")
    if not wait_healthy(env, {s: 1 for s in LONG_RUNNING}, 180):
        raise RuntimeError("the stack did not become healthy")
    migrate = [s for s in container_states(env).values() if s[0] == "migrate"]
    if not migrate or migrate[0][1] != "exited":
        fail(f"the migrate step did not run to its end: {migrate}")
    secs = time.time() - t0
    ok(f"docker-compose up: {', '.join(LONG_RUNNING)} healthy, migrations applied, in {secs:.0f} s")
    return secs


# --- 5. on the wire -----------------------------------------------------------------------

def options_answered(gw, sip_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((gw, 0))
    s.settimeout(2)
    port = s.getsockname()[1]
    msg = (f"OPTIONS sip:{gw}:{sip_port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {gw}:{port};branch=z9hG4bK-cc{random.randint(0, 1 << 30)};rport\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:probe@{gw}>;tag=cc{random.randint(0, 1 << 30)}\r\n"
           f"To: <sip:{gw}:{sip_port}>\r\n"
           f"Call-ID: cc-options-{random.randint(0, 1 << 30)}@{gw}\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    try:
        for _ in range(10):
            s.sendto(msg.encode(), (gw, sip_port))
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            line = data.decode(errors="replace").split("\r\n", 1)[0]
            if line.startswith("SIP/2.0 1"):
                continue
            return line
        return None
    finally:
        s.close()


def ccctl(env, *args, check=True):
    """ccctl in a running agent-registry container (its image holds ccctl; the container's
    environment names the services)."""
    running = sorted(name for name, (svc, state, _) in container_states(env).items()
                     if svc == "agent-registry" and state == "running")
    if not running:
        raise RuntimeError("no agent-registry container runs ccctl")
    # A generous deadline: on a 2-core CI machine the chaos tests run beside this one, and the
    # first call (name lookup, connection, the service's first transaction) once took over
    # ccctl's default 5 s. The test checks what the commands do, not how fast they are.
    return env.podman("exec", running[0], "ccctl", "--timeout", "30000", *args, check=check,
                      timeout=60)


def sipp(env, scenario, local_port, args, remote, log_name):
    argv = ["sipp", "-sf", os.path.join(env.source, "tests/sip", scenario), "-i", remote[0],
            "-p", str(local_port), "-nostdin", "-trace_err", "-error_file",
            os.path.join(env.work, f"{log_name}.err"), *args, f"{remote[0]}:{remote[1]}"]
    log("$ " + " ".join(argv))
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=env.work, preexec_fn=die_with_parent)


def leg_counters(env):
    out = ccctl(env, "--json", "--server", "media-relay:50053", "relay", "legs", check=False)
    if out.returncode != 0:
        return []
    return json.loads(out.stdout).get("legs", [])


def call_with_rtp(env, gw, sip_port, agent_port, check_contact):
    """A customer's call to the agent (registered at gw:agent_port), audio both ways."""
    # SIPp takes four ports from -mp (audio and video, RTP and RTCP).
    mport_a = free_rtp_range(8)[0]
    mport_c = mport_a + 4
    contact_log = os.path.join(env.work, f"agent-{agent_port}-messages.log")
    agent = sipp(env, "agent.xml", agent_port,
                 ["-d", "100", "-m", "1", "-rtp_echo", "-mp", str(mport_a), "-timeout", "90s",
                  "-trace_msg", "-message_file", contact_log], (gw, sip_port), f"agent-{agent_port}")
    time.sleep(0.5)
    customer_port = free_sip_port()
    customer = sipp(env, "customer_audio.xml", customer_port,
                    ["-s", "support", "-m", "1", "-mp", str(mport_c), "-timeout", "60s",
                     "-timeout_error"], (gw, sip_port), f"customer-{customer_port}")
    counts = {}
    deadline = time.time() + 60
    while customer.poll() is None and time.time() < deadline:
        for leg in leg_counters(env):
            st = leg.get("stats", {})
            for k in ("packets_in", "packets_out"):
                key = (leg.get("label"), k)
                counts[key] = max(counts.get(key, 0), int(st.get(k, 0)))
        time.sleep(0.5)
    c_rc = customer.wait(30)
    try:
        a_rc = agent.wait(30)
    except subprocess.TimeoutExpired:
        agent.kill()
        a_rc = agent.wait()
    contact = None
    if check_contact and os.path.exists(contact_log):
        text = open(contact_log, errors="replace").read()
        m = re.search(r"INVITE sip:[^\n]*\n(?:[^\n]+\n)*?Contact:\s*([^\r\n]+)", text)
        contact = m.group(1) if m else None
    return c_rc, a_rc, counts, contact


def check_call_path(env, gw, sip_port):
    line = options_answered(gw, sip_port)
    if line and line.startswith("SIP/2.0 200"):
        ok(f"OPTIONS from the host to {gw}:{sip_port} (the published SIP port): {line}")
    else:
        fail(f"OPTIONS to {gw}:{sip_port} got {line!r}")

    for args in (["queue", "create", "support", "--name", "Support", "--answer-mode", "ring-until-agent",
                  "--ring-timeout", "15s", "--wrap-up", "0", "--music", "moh"],
                 ["dialplan", "set", "support", "support"],
                 ["agent", "create", "alice", "--name", "Alice", "--user", AGENT_USER, "--password",
                  AGENT_PASSWORD, "--queue", "support", "--wrap-up", "0"],
                 ["agent", "login", "alice"]):
        ccctl(env, *args)
    ok("queue support and agent alice created with ccctl inside the stack")

    agent_port = free_sip_port()
    reg = sipp(env, "register.xml", agent_port,
               ["-s", AGENT_USER, "-au", AGENT_USER, "-ap", AGENT_PASSWORD, "-set", "expires", "600",
                "-m", "1", "-timeout", "20s", "-timeout_error"], (gw, sip_port), "register")
    if reg.wait(40) == 0:
        ok(f"agent registered with digest auth from the host ({gw}:{agent_port})")
    else:
        fail("the agent's REGISTER (digest auth) did not get its 200")
        return None

    c_rc, a_rc, counts, contact = call_with_rtp(env, gw, sip_port, agent_port, True)
    if c_rc == 0 and a_rc == 0:
        ok("a customer's call was answered by the agent and hung up normally")
    else:
        fail(f"the call failed: customer SIPp {c_rc}, agent SIPp {a_rc} (see {env.work})")
    want = {("customer", "packets_in"): 230, ("agent", "packets_out"): 230,
            ("agent", "packets_in"): 200, ("customer", "packets_out"): 200}
    short = {k: (counts.get(k, 0), n) for k, n in want.items() if counts.get(k, 0) < n}
    if short:
        fail(f"RTP through the relay falls short (counted, wanted): {short}")
    else:
        ok("RTP both ways through the relay: " +
           ", ".join(f"{label} {k.replace('packets_', '')} {n}" for (label, k), n in sorted(counts.items())))
    if contact and f"{gw}:{sip_port}" in contact:
        ok(f"the INVITE to the agent carries the advertised address: Contact: {contact}")
    else:
        fail(f"the INVITE to the agent has Contact {contact!r}, not the advertised {gw}:{sip_port}")
    return agent_port


def check_prometheus(env):
    port = env.compose("port", "prometheus", "9090", quiet=True).stdout.strip().rsplit(":", 1)[1]
    deadline = time.time() + 90
    targets = []
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
                targets = json.loads(r.read().decode())["data"]["activeTargets"]
            services = {t["labels"].get("cc_service") for t in targets if t["health"] == "up"}
            if set(SERVICES) <= services and all(t["health"] == "up" for t in targets):
                ok(f"Prometheus (127.0.0.1:{port}): all {len(targets)} targets up, "
                   f"{', '.join(sorted(s for s in services if s))} among them")
                return
        except OSError:
            pass
        time.sleep(3)
    fail("Prometheus' targets not all up: " +
         ", ".join(f"{t['labels'].get('cc_service')}={t['health']} {t.get('lastError', '')}" for t in targets))


# --- 6. replicas --------------------------------------------------------------------------

def check_replicas(env, gw, sip_port, agent_port):
    pump_wait = {"agent-registry": 2, "queue-service": 2}
    env.compose("up", "-d", "--no-deps", "--no-recreate", "--scale", "agent-registry=2",
                "--scale", "queue-service=2", "agent-registry", "queue-service", timeout=300)
    if not wait_healthy(env, pump_wait, 120):
        fail("two replicas of agent-registry and queue-service did not become healthy")
        return
    ok("agent-registry and queue-service scaled to two healthy replicas each")
    first = [f"{env.project}_agent-registry_1", f"{env.project}_queue-service_1"]
    env.podman("stop", "-t", "20", *first, timeout=120)
    states = container_states(env)
    if any(states.get(n, (None, "running"))[1] == "running" for n in first):
        fail(f"the first replicas are still running: {states}")
    c_rc, a_rc, _, _ = call_with_rtp(env, gw, sip_port, agent_port, False)
    if c_rc == 0 and a_rc == 0:
        ok("with the first replica of each stopped, the next call went through")
    else:
        fail(f"after stopping one replica of each, the call failed: customer {c_rc}, agent {a_rc}")


# --- 7. teardown --------------------------------------------------------------------------

def teardown(env):
    t0 = time.time()
    with contextlib.suppress(Exception):
        env.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300, check=False)
    # Whatever compose could not remove (a failed start, a service stopped by hand).
    ids = env.project_containers(all_=True)
    if ids:
        env.podman("rm", "-f", "-v", *ids, check=False, timeout=120)
    vols = env.podman("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={env.project}",
                      check=False, quiet=True).stdout.split()
    if vols:
        env.podman("volume", "rm", "-f", *vols, check=False)
    nets = [n for n in env.podman("network", "ls", "--format", "{{.Name}}", check=False, quiet=True).stdout.split()
            if n.startswith(env.project)]
    if nets:
        env.podman("network", "rm", "-f", *nets, check=False)
    return time.time() - t0


def report(rows, base_secs, up_secs, down_secs, path):
    lines = ["| image | size (MB) | build (s) |", "|---|---|---|"]
    for svc, image, secs, size in rows:
        lines.append(f"| `{image}` | {size:.0f} | {secs:.0f} |")
    lines.append("")
    lines.append(f"Base image from debootstrap: {base_secs:.0f} s (0: cached). "
                 f"`up` to all healthy: {up_secs:.0f} s. `down -v`: {down_secs:.0f} s.")
    text = "\n".join(lines)
    print("\n" + text + "\n")
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--report", default="")
    ap.add_argument("--keep-work", action="store_true", help="keep the logs folder")
    a = ap.parse_args()
    if os.geteuid() != 0:
        fail("this test runs podman as root (the sandbox's rootless podman has no subuids): run as root")
        return summary()
    ensure_packages()
    work = tempfile.mkdtemp(prefix="cc-compose-")
    env = Env(os.path.abspath(a.source_dir), work)
    log(f"work folder {work}, compose project {env.project}")
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{env.sock}"],
                               stdout=open(os.path.join(work, "podman-service.log"), "wb"),
                               stderr=subprocess.STDOUT, env=env.env, preexec_fn=die_with_parent)
    pump = None
    rows, base_secs, up_secs, down_secs = [], 0.0, 0.0, 0.0
    try:
        for _ in range(100):
            if os.path.exists(env.sock):
                break
            time.sleep(0.1)
        base_secs = make_base_image(env)
        subnet = free_subnet(env)
        gw = str(next(subnet.hosts()))
        sip_port = free_sip_port()
        rtp_min, rtp_max = free_rtp_range(20)
        network = env.project + "_net"
        env.podman("network", "create", "--subnet", str(subnet), "--gateway", gw, network)
        env.vars = {"CC_TEST_NETWORK": network, "CC_PUBLIC_IP": gw, "CC_SIP_PORT": str(sip_port),
                    "CC_RTP_PORT_MIN": str(rtp_min), "CC_RTP_PORT_MAX": str(rtp_max)}
        log(f"network {subnet} (the host is {gw}), SIP {sip_port}, RTP {rtp_min}-{rtp_max}")
        moved = copy_compose_file(env)
        ok(f"compose file copied with its {moved} admin ports on ephemeral host ports")
        rows = build_images(env)
        pump = HealthPump(env)
        up_secs = start_stack(env)
        agent_port = check_call_path(env, gw, sip_port)
        check_prometheus(env)
        if agent_port:
            check_replicas(env, gw, sip_port, agent_port)
    except Exception as e:  # noqa: BLE001 (reported as a failure, then torn down)
        fail(f"{type(e).__name__}: {e}")
        with contextlib.suppress(Exception):
            for name, (svc, state, health) in container_states(env).items():
                log(f"{name}: {state} {health}")
                logs = env.podman("logs", "--tail", "30", name, check=False, quiet=True)
                print(logs.stdout[-3000:], logs.stderr[-3000:])
    finally:
        if pump:
            pump.stop()
        down_secs = teardown(env)
        left = env.project_containers(all_=True)
        if left:
            fail(f"containers left after down: {left}")
        else:
            ok(f"docker-compose down -v: nothing of project {env.project} left ({down_secs:.0f} s)")
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(20)
        except subprocess.TimeoutExpired:
            service.kill()
        if not a.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    report(rows, base_secs, up_secs, down_secs, a.report)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
