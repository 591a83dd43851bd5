#!/usr/bin/python3
"""Static checks of the container files (ctest deploy_containers); compose_stack_it.py builds
the images and starts the stack for real. See deploy/README.md.

  check_containers.py SOURCE_DIR [--bin SERVICE=PATH ...] [--probe PATH]

Dockerfiles (deploy/docker/<service>.Dockerfile):
- two stages: FROM debian:12 (build) and FROM debian:12-slim (runtime);
- the build stage installs exactly the build packages of tools/dev/lib.sh (CC_PACKAGES
  without the test/dev-only ones listed below) and builds the service's CMake target, and is
  the same in the four Dockerfiles (so a caching builder compiles once); the
  files it COPYs, alone, configure with its CMake command and define the targets it builds
  (configured in a scratch directory, not compiled);
- the runtime stage installs exactly the Debian packages that provide the shared libraries the
  binaries link (their DT_NEEDED entries, resolved with dpkg -S on this Debian 12 machine;
  libraries of debian:12-slim itself excluded), and each of them is a known Debian package;
- it runs as a numeric non-root USER, the ENV CC_* names are options of the binary (--help),
  EXPOSE covers the listen ports, and the HEALTHCHECK probes the gRPC port with cc-grpc-health.

docker-compose.yml (normalised by `docker-compose config`, Debian's docker-compose 1.29):
- the services: postgres, nats, migrate, the four services, prometheus, grafana;
- health checks on every long-running service, depends_on conditions (migrations completed,
  postgres/nats healthy, the edge after the three others are healthy, grafana after
  prometheus);
- SIP 5060 UDP+TCP and the RTP range (from deploy/local/stack.env) published, the range
  equal to the relay's CC_RTP_PORT_MIN..MAX; admin ports only on 127.0.0.1; with
  CC_SIP_PORT and CC_RTP_PORT_MIN/MAX set, the published ports, the relay's range and the
  edge's advertised port follow;
- every CC_* variable given to a service is an option of its binary (or a ccctl setting);
- the chart's defaults (values.yaml) agree with it: listen ports, SIP port, RTP range;
- Prometheus scrapes every service at its metrics port with cc_service = its name; Grafana
  gets the provisioning and the dashboard.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklog import fail, ok, summary  # noqa: E402

SERVICES = ["agent-registry", "queue-service", "media-relay", "signaling-edge"]
# The build stage must install every CC_PACKAGES entry that building the services needs:
# the toolchain and the -dev packages (but the test frameworks and the fuzzing runtime:
# images build without tests). The rest of CC_PACKAGES (servers of the local stack, test tools) stays out.
TOOLCHAIN = {"build-essential", "cmake", "ninja-build", "pkg-config",
             "espeak-ng", "sox"}  # and the prompt makers (tools/prompts.sh runs in the build)
TEST_DEV = {"libgtest-dev", "libgmock-dev", "libclang-rt-14-dev", "libssl-dev"}  # libFuzzer, tls_it


def is_build_package(p):
    if p in TEST_DEV:
        return False
    return p in TOOLCHAIN or p.endswith("-dev") or p.startswith("protobuf-compiler")


# Libraries debian:12-slim already has (essential packages).
BASE_LIBS = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}
CCCTL_SETTINGS = {"CC_AGENT_REGISTRY_GRPC", "CC_QUEUE_SERVICE_GRPC", "CC_MEDIA_RELAY_GRPC",
                  "CC_SIGNALING_EDGE_GRPC", "CC_ENV_FILE"}


def help_env(binary):
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"\((CC_[A-Z0-9_]+), default", p.stdout + p.stderr))


def cc_packages(root):
    out = subprocess.run(["bash", "-c", f'. "{root}/tools/dev/lib.sh"; printf "%s\\n" "${{CC_PACKAGES[@]}}"'],
                         capture_output=True, text=True, check=True).stdout
    return [p for p in out.split() if p]


def needed_packages(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    # Sanitizer runtimes (tools/test.sh builds with ASan/UBSan) are not in release images.
    libs = [lib for lib in libs if not re.match(r"lib(a|ub|l|t|hwa)san\.so", lib)]
    todo = [lib for lib in libs if lib not in _DPKG_CACHE]
    if todo:
        # One dpkg -S for all of them: "package[:arch]: /path/lib" lines.
        p = subprocess.run(["dpkg", "-S", *[f"*/{lib}" for lib in todo]], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            name = pkg.split(":")[0]
            lib = os.path.basename(path.strip())
            # i386 / multiarch duplicates (libc6-i386 ships a libm too): keep the native one.
            if name.endswith("-i386") or name.startswith(("lib32", "libx32")):
                continue
            if lib in todo:
                _DPKG_CACHE.setdefault(lib, set()).add(name)
    pkgs = {}
    for lib in libs:
        names = _DPKG_CACHE.get(lib)
        if not names:
            fail(f"{binary}: no Debian package provides {lib}")
            continue
        pkgs[lib] = sorted(names)[0]
    return pkgs


_DPKG_CACHE = {}


def package_known(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    if p.returncode == 0 and p.stdout:
        return True
    p = subprocess.run(["apt-cache", "show", pkg], capture_output=True, text=True)
    return p.returncode == 0 and "Package:" in p.stdout


def parse_dockerfile(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append({"from": rest.strip(), "instr": []})
        elif stages:
            stages[-1]["instr"].append((instr, rest.strip()))
    return stages


def apt_packages(stage):
    pkgs = []
    for instr, rest in stage["instr"]:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            words = shlex.split(cmd)
            if len(words) > 2 and words[0] == "apt-get" and "install" in words:
                pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


_CONFIGURED = {}


def configure_from_copies(root, where, build, runs):
    """Lays out what the build stage COPYs (and nothing else) in a scratch directory and runs
    the stage's CMake configure step on it: the COPY set is enough to configure, and the
    targets the stage builds exist. (Compiling them is left out: minutes of CPU.)"""
    copies = [r.split() for i, r in build["instr"] if i == "COPY"]
    key = repr(copies)
    m = re.search(r"cmake -S \. -B (\S+) (.*?)&&", runs)
    targets = re.search(r"--target ([\w\s-]+?)(?:&&|$)", runs)
    if not m or not targets:
        fail(f"{where}: no `cmake -S . -B ...` configure step or no --target list")
        return
    wanted = targets.group(1).split()
    if key not in _CONFIGURED:
        tmp = tempfile.mkdtemp(prefix="cc-docker-ctx-")
        try:
            src = os.path.join(tmp, "src")
            os.makedirs(src)
            for words in copies:
                *sources, dest = words
                for s_ in sources:
                    from_ = os.path.join(root, s_)
                    to = os.path.join(src, dest)
                    if os.path.isdir(from_):
                        shutil.copytree(from_, to, dirs_exist_ok=True)
                    else:
                        if dest.endswith("/"):
                            os.makedirs(to, exist_ok=True)
                            to = os.path.join(to, os.path.basename(s_))
                        shutil.copy(from_, to)
            flags = m.group(2).split()
            p = subprocess.run(["cmake", "-S", src, "-B", os.path.join(tmp, "build"), *flags],
                               capture_output=True, text=True, timeout=300)
            if p.returncode != 0:
                _CONFIGURED[key] = (False, p.stdout[-1500:] + p.stderr[-1500:])
            else:
                t = subprocess.run(["ninja", "-C", os.path.join(tmp, "build"), "-t", "targets", "all"],
                                   capture_output=True, text=True)
                _CONFIGURED[key] = (True, {line.split(":")[0] for line in t.stdout.splitlines()})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    good, info = _CONFIGURED[key]
    if not good:
        fail(f"{where}: CMake does not configure from the COPYed files alone:\n{info}")
        return
    missing = [t for t in wanted if t not in info]
    if missing:
        fail(f"{where}: targets {missing} do not exist in the build")
    else:
        ok(f"{where}: the COPYed sources configure with CMake and define {', '.join(wanted)}")


def check_dockerfiles(root, bins, probe):
    lib_pkgs = cc_packages(root)
    build_pkgs = [p for p in lib_pkgs if is_build_package(p)]
    probe_pkgs = needed_packages(probe) if probe else {}
    build_stages = {}
    for svc in SERVICES:
        path = os.path.join(root, "deploy", "docker", f"{svc}.Dockerfile")
        where = f"deploy/docker/{svc}.Dockerfile"
        if not os.path.exists(path):
            fail(f"{where} missing")
            continue
        stages = parse_dockerfile(path)
        if len(stages) != 2:
            fail(f"{where}: {len(stages)} stages, expected build + runtime")
            continue
        build, run = stages
        if not re.fullmatch(r"debian:12 AS build", build["from"], re.I):
            fail(f"{where}: build stage is FROM {build['from']}, expected debian:12 AS build")
        if not re.fullmatch(r"debian:12-slim( AS \w+)?", run["from"], re.I):
            fail(f"{where}: runtime stage is FROM {run['from']}, expected debian:12-slim")
        got = apt_packages(build)
        missing = sorted(set(build_pkgs) - set(got))
        extra = sorted(set(got) - set(lib_pkgs))
        if missing or extra:
            fail(f"{where}: build packages differ from tools/dev/lib.sh: missing {missing}, not in CC_PACKAGES {extra}")
        else:
            ok(f"{where}: build stage installs the {len(got)} build packages of tools/dev/lib.sh")
        runs = " ".join(r for i, r in build["instr"] if i == "RUN")
        built = re.search(r"--target ([\w\s-]+?)(?:&&|$)", runs)
        if not built or svc not in built.group(1).split():
            fail(f"{where}: the build does not build the {svc} target")
        build_stages[svc] = build["instr"]
        configure_from_copies(root, where, build, runs)
        # runtime packages = what the binaries link
        runtime = apt_packages(run)
        for p in runtime:
            if not package_known(p):
                fail(f"{where}: runtime package {p} is not a Debian 12 package known here")
        copied = " ".join(r for i, r in run["instr"] if i == "COPY")
        binaries = re.findall(r"/build/(?:services/[\w-]+/|tools/)?([\w-]+)", copied)
        want = {}
        for b in binaries:
            path_b = bins.get(b) if b != "cc-grpc-health" else probe
            if not path_b:
                print(f"skip: {where}: {b} not built here, its libraries are not compared")
                continue
            for lib, pkg in needed_packages(path_b).items():
                want[pkg] = lib
        want_pkgs = set(want) - BASE_LIBS
        if want:
            missing = sorted(want_pkgs - set(runtime))
            # Data the binaries read rather than link: certificates, and the time zones of
            # opening hours (queue-service, through libdate-tz).
            data = {"ca-certificates"} | ({"tzdata"} if "libdate-tz3" in want_pkgs else set())
            extra = sorted(set(runtime) - want_pkgs - data)
            if missing:
                fail(f"{where}: runtime stage lacks {missing} (linked: {[want[m] for m in missing]})")
            if extra:
                fail(f"{where}: runtime stage installs {extra}, which no binary links")
            if not missing and not extra:
                ok(f"{where}: runtime packages are exactly the libraries {', '.join(sorted(set(binaries)))} link ({len(want_pkgs)})")
        # non-root, env, ports, health check
        users = [r for i, r in run["instr"] if i == "USER"]
        if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
            fail(f"{where}: does not run as a numeric non-root USER")
        envs = {}
        for i, r in run["instr"]:
            if i == "ENV":
                envs.update(dict(re.findall(r"(\w+)=(\S+)", r)))
        if svc in bins:
            opts = help_env(bins[svc])
            bad = sorted(k for k in envs if k.startswith("CC_") and k not in opts)
            if bad:
                fail(f"{where}: ENV {bad} are not options of {svc}")
        listen = [envs.get("CC_GRPC_LISTEN", ""), envs.get("CC_METRICS_LISTEN", "")]
        if svc == "signaling-edge":
            listen.append(envs.get("CC_SIP_LISTEN", ""))
        exposed = " ".join(r for i, r in run["instr"] if i == "EXPOSE")
        for addr in listen:
            if not addr.startswith("0.0.0.0:"):
                fail(f"{where}: {addr or 'a listen address'} is not on 0.0.0.0 (unreachable from outside the container)")
                continue
            if f"{addr.split(':')[1]}/" not in exposed:
                fail(f"{where}: port {addr} not EXPOSEd")
        health = " ".join(r for i, r in run["instr"] if i == "HEALTHCHECK")
        grpc_port = envs.get("CC_GRPC_LISTEN", ":").split(":")[1]
        if "cc-grpc-health" not in health or f"127.0.0.1:{grpc_port}" not in health:
            fail(f"{where}: HEALTHCHECK does not probe gRPC health on {grpc_port}")
        entry = [r for i, r in run["instr"] if i == "ENTRYPOINT"]
        if not entry or f"/usr/local/bin/{svc}" not in entry[-1]:
            fail(f"{where}: ENTRYPOINT is not the {svc} binary")
        ok(f"{where}: checked")
    if probe_pkgs:
        ok(f"cc-grpc-health links {sorted(set(probe_pkgs.values()) - BASE_LIBS)}")
    check_same_build_stage(build_stages)


def check_same_build_stage(build_stages):
    """The four build stages must be the same to the letter: a builder caching layers then
    compiles once for the four images."""
    if len(build_stages) != len(SERVICES):
        return
    first = SERVICES[0]
    differ = [svc for svc in SERVICES[1:] if build_stages[svc] != build_stages[first]]
    if differ:
        fail(f"the build stages of {differ} differ from {first}'s: each image would compile again")
    else:
        ok("the four Dockerfiles share one build stage (compiled once by a caching builder)")


def read_env_file(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def published(ports):
    """(published, target, protocol, host_ip) of every port, whatever form docker-compose's
    normalisation gives ("ip:pub:target/proto" strings, or maps; ranges come out one port
    per entry)."""
    out = []
    for p in ports:
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), str(p["target"]), p.get("protocol", "tcp"), p.get("host_ip", "")))
            continue
        m = re.fullmatch(r"(?:(\d+\.\d+\.\d+\.\d+):)?(?:([\d-]+):)?([\d-]+)(?:/(\w+))?", str(p))
        if not m:
            fail(f"compose: cannot read port {p!r}")
            continue
        out.append((m.group(2) or "", m.group(3), m.group(4) or "tcp", m.group(1) or ""))
    return out


def check_compose(root, bins):
    env = dict(os.environ)
    for k in ("CC_PUBLIC_IP", "CC_DB_PASSWORD", "CC_SIP_REALM", "CC_AUTH_SECRET", "CC_IMAGE_TAG",
              "CC_SIP_PORT", "CC_RTP_PORT_MIN", "CC_RTP_PORT_MAX"):
        env.pop(k, None)  # check the defaults
    p = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, env=env, cwd=root)
    if p.returncode != 0:
        fail(f"docker-compose config -q: {p.stderr.strip()}")
        return
    ok("docker-compose config -q")
    p = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"), "config"],
                       capture_output=True, text=True, env=env, cwd=root, check=True)
    cfg = yaml.safe_load(p.stdout)
    svcs = cfg["services"]
    want = {"postgres", "nats", "migrate", "api-tokens", "prometheus", "grafana", *SERVICES}
    if set(svcs) != want:
        fail(f"compose services {sorted(svcs)} != {sorted(want)}")
    for name, s in svcs.items():
        hc = s.get("healthcheck", {})
        if name in ("migrate", "api-tokens"):
            if s.get("restart") not in (None, "no"):
                fail(f"compose: {name} must run once (restart: no)")
            continue
        if not hc.get("test") or hc.get("disable"):
            fail(f"compose: {name} has no health check")
    def cond(a, b):
        return svcs.get(a, {}).get("depends_on", {}).get(b, {}).get("condition")
    expect = [("migrate", "postgres", "service_healthy"),
              ("agent-registry", "migrate", "service_completed_successfully"),
              ("queue-service", "migrate", "service_completed_successfully"),
              ("agent-registry", "nats", "service_healthy"),
              ("queue-service", "nats", "service_healthy"),
              ("media-relay", "nats", "service_healthy"),
              ("signaling-edge", "agent-registry", "service_healthy"),
              ("signaling-edge", "queue-service", "service_healthy"),
              ("signaling-edge", "media-relay", "service_healthy"),
              ("grafana", "prometheus", "service_healthy")]
    expect += [(svc, "api-tokens", "service_completed_successfully") for svc in SERVICES]
    for a, b, c in expect:
        if cond(a, b) != c:
            fail(f"compose: {a} should depend on {b} with condition {c}, has {cond(a, b)}")
    ok("compose: health checks and depends_on conditions")
    # The gRPC API's tokens: every service reads the volume's tokens file, the edge sends its
    # own token, the others carry the admin's (ccctl in the container).
    for svc in SERVICES:
        senv = svcs[svc].get("environment", {})
        want_token = "/run/cc-api/" + ("edge" if svc == "signaling-edge" else "admin") + "-token"
        if senv.get("CC_API_TOKENS") != "/run/cc-api/tokens" or senv.get("CC_API_TOKEN_FILE") != want_token:
            fail(f"compose: {svc} does not read /run/cc-api/tokens and send {want_token}")
        def mount(v):  # (source, target, read-only) of the short or the long syntax
            if isinstance(v, dict):
                return v.get("source"), v.get("target"), bool(v.get("read_only"))
            parts = str(v).split(":")
            return parts[0], parts[1] if len(parts) > 1 else "", parts[2:3] == ["ro"]
        if ("api-tokens", "/run/cc-api", True) not in [mount(v) for v in svcs[svc].get("volumes", [])]:
            fail(f"compose: {svc} does not mount the api-tokens volume read-only at /run/cc-api")
    ok("compose: every service reads the API tokens from the api-tokens volume")
    # images built from the per-service Dockerfiles
    for svc in SERVICES:
        b = svcs[svc].get("build", {})
        if os.path.normpath(b.get("dockerfile", "")) != f"deploy/docker/{svc}.Dockerfile":
            fail(f"compose: {svc} is not built from deploy/docker/{svc}.Dockerfile")
    # published ports
    stack = read_env_file(os.path.join(root, "deploy", "local", "stack.env"))
    rtp_min, rtp_max = stack["CC_RTP_PORT_MIN"], stack["CC_RTP_PORT_MAX"]
    sip_port = stack["CC_SIP_LISTEN"].rsplit(":", 1)[1]
    edge = published(svcs["signaling-edge"].get("ports", []))
    for proto in ("udp", "tcp"):
        if not any(pub == sip_port and tgt == sip_port and pr == proto and not hip for pub, tgt, pr, hip in edge):
            fail(f"compose: SIP {sip_port}/{proto} is not published on every interface")
    relay = published(svcs["media-relay"].get("ports", []))
    rng = f"{rtp_min}-{rtp_max}"
    rtp = {(str(n), str(n), "udp", "") for n in range(int(rtp_min), int(rtp_max) + 1)}
    if not rtp <= set(relay) and not any(pub == rng and tgt == rng and pr == "udp" for pub, tgt, pr, hip in relay):
        fail(f"compose: the RTP range {rng}/udp is not published on the same host ports")
    renv = svcs["media-relay"].get("environment", {})
    if (str(renv.get("CC_RTP_PORT_MIN")), str(renv.get("CC_RTP_PORT_MAX"))) != (rtp_min, rtp_max):
        fail("compose: the relay's CC_RTP_PORT_MIN/MAX differ from the published range / stack.env")
    for name in ("agent-registry", "queue-service", "media-relay", "signaling-edge", "prometheus", "grafana"):
        for pub, tgt, pr, hip in published(svcs[name].get("ports", [])):
            if (name, pr) in (("signaling-edge", "udp"), ("signaling-edge", "tcp")) and pub == sip_port:
                continue
            if name == "media-relay" and ((pub, tgt, pr, hip) in rtp or pub == rng):
                continue
            if hip != "127.0.0.1":
                fail(f"compose: {name} publishes admin port {pub}/{pr} beyond 127.0.0.1")
    ok(f"compose: SIP {sip_port}/udp+tcp and RTP {rng}/udp published, admin ports on 127.0.0.1")
    # environment = options of the binaries
    for svc in SERVICES:
        senv = svcs[svc].get("environment", {})
        if svc in bins:
            opts = help_env(bins[svc])
            bad = sorted(k for k in senv if k.startswith("CC_") and k not in opts and k not in CCCTL_SETTINGS)
            if bad:
                fail(f"compose: {svc} gets {bad}, which are not options of {svc}")
            else:
                ok(f"compose: every CC_* of {svc} is an option of the binary")
        else:
            print(f"skip: compose: {svc} binary not given, its environment is not compared with --help")
        for k in ("CC_GRPC_LISTEN", "CC_METRICS_LISTEN"):
            if not str(senv.get(k, "")).startswith("0.0.0.0:"):
                fail(f"compose: {svc} {k} does not listen on 0.0.0.0")
        hc = " ".join(svcs[svc]["healthcheck"]["test"])
        if "cc-grpc-health" not in hc or str(senv.get("CC_GRPC_LISTEN", ":")).split(":")[1] not in hc:
            fail(f"compose: {svc}'s health check does not probe its gRPC port")
    eenv = svcs["signaling-edge"]["environment"]
    for k, target in (("CC_AGENT_REGISTRY", "agent-registry"), ("CC_QUEUE_SERVICE", "queue-service"), ("CC_MEDIA_RELAY", "media-relay")):
        port = str(svcs[target]["environment"]["CC_GRPC_LISTEN"]).split(":")[1]
        if eenv.get(k) != f"{target}:{port}":
            fail(f"compose: the edge's {k} is {eenv.get(k)}, expected {target}:{port}")
    if not str(eenv.get("CC_SIP_LISTEN", "")).endswith(f":{sip_port}"):
        fail("compose: the edge's CC_SIP_LISTEN is not the published SIP port")
    # Prometheus scrapes every service, Grafana has its provisioning
    prom = yaml.safe_load(open(os.path.join(root, "deploy", "prometheus", "prometheus.yml"), encoding="utf-8"))
    targets = {}
    for job in prom["scrape_configs"]:
        for sc in job.get("static_configs", []):
            for t in sc["targets"]:
                targets[t] = sc.get("labels", {}).get("cc_service")
    for svc in SERVICES:
        port = str(svcs[svc]["environment"]["CC_METRICS_LISTEN"]).split(":")[1]
        if targets.get(f"{svc}:{port}") != svc:
            fail(f"prometheus.yml does not scrape {svc}:{port} with cc_service={svc}")
    vols = " ".join(str(v.get("source", "")) + ":" + str(v.get("target", "")) if isinstance(v, dict) else str(v)
                    for v in svcs["prometheus"].get("volumes", []))
    if "deploy/prometheus:/etc/prometheus" not in vols:
        fail("compose: prometheus does not mount deploy/prometheus")
    gvols = " ".join(str(v.get("source", "")) + ":" + str(v.get("target", "")) if isinstance(v, dict) else str(v)
                     for v in svcs["grafana"].get("volumes", []))
    prov = yaml.safe_load(open(os.path.join(root, "deploy", "grafana", "provisioning", "dashboards", "callcenter.yml"), encoding="utf-8"))
    dash_path = prov["providers"][0]["options"]["path"]
    if "deploy/grafana/provisioning:/etc/grafana/provisioning" not in gvols or f"deploy/grafana/dashboards:{dash_path}" not in gvols:
        fail("compose: grafana does not mount the provisioning and the dashboards where the provider looks")
    ok("compose: Prometheus scrapes the four services, Grafana is provisioned")


def check_compose_ports_follow_settings(root):
    """Other host ports for SIP and RTP (CC_SIP_PORT, CC_RTP_PORT_MIN/MAX): what is published,
    what the relay uses and what the edge advertises must move together."""
    env = {**os.environ, "CC_PUBLIC_IP": "192.0.2.7", "CC_SIP_PORT": "15070",
           "CC_RTP_PORT_MIN": "31000", "CC_RTP_PORT_MAX": "31009"}
    p = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"), "config"],
                       capture_output=True, text=True, env=env, cwd=root)
    if p.returncode != 0:
        fail(f"docker-compose config with other ports: {p.stderr.strip()}")
        return
    svcs = yaml.safe_load(p.stdout)["services"]
    edge, relay = svcs["signaling-edge"], svcs["media-relay"]
    problems = []
    if edge["environment"].get("CC_SIP_ADVERTISE") != "192.0.2.7:15070":
        problems.append(f"the edge advertises {edge['environment'].get('CC_SIP_ADVERTISE')}")
    sip = {(pub, tgt, pr) for pub, tgt, pr, _ in published(edge.get("ports", []))}
    if not {("15070", "5060", "udp"), ("15070", "5060", "tcp")} <= sip:
        problems.append(f"SIP is published as {sorted(sip)}")
    renv = relay["environment"]
    if (str(renv.get("CC_RTP_PORT_MIN")), str(renv.get("CC_RTP_PORT_MAX"))) != ("31000", "31009"):
        problems.append("the relay's RTP range does not follow CC_RTP_PORT_MIN/MAX")
    rtp = {(pub, tgt) for pub, tgt, pr, _ in published(relay.get("ports", [])) if pr == "udp"}
    if not ({(str(n), str(n)) for n in range(31000, 31010)} <= rtp or ("31000-31009", "31000-31009") in rtp):
        problems.append("the published RTP range does not follow CC_RTP_PORT_MIN/MAX")
    if problems:
        fail("compose with CC_SIP_PORT / CC_RTP_PORT_MIN/MAX set: " + "; ".join(problems))
    else:
        ok("compose: CC_SIP_PORT moves the published SIP port and the advertised one together, "
           "CC_RTP_PORT_MIN/MAX the relay's range and the published one")


def check_compose_matches_chart(root):
    """What compose_stack_it proves of the compose file must hold for the chart's defaults:
    the same listen ports per service, SIP port and RTP range (deploy/README.md maps the
    settings that differ, such as the advertised addresses)."""
    values = yaml.safe_load(open(os.path.join(root, "charts", "callcenter", "values.yaml"), encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    p = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"), "config"],
                       capture_output=True, text=True, env=env, cwd=root, check=True)
    svcs = yaml.safe_load(p.stdout)["services"]
    keys = {"agent-registry": "agentRegistry", "queue-service": "queueService",
            "media-relay": "mediaRelay", "signaling-edge": "signalingEdge"}
    problems = []
    for svc, key in keys.items():
        cenv = svcs[svc]["environment"]
        ports = values[key]["ports"]
        for what, var in (("grpc", "CC_GRPC_LISTEN"), ("metrics", "CC_METRICS_LISTEN")):
            if str(cenv[var]).rsplit(":", 1)[1] != str(ports[what]):
                problems.append(f"{svc} {what}: compose {cenv[var]}, chart {key}.ports.{what}={ports[what]}")
    edge_sip = str(svcs["signaling-edge"]["environment"]["CC_SIP_LISTEN"]).rsplit(":", 1)[1]
    if edge_sip != str(values["signalingEdge"]["ports"]["sip"]):
        problems.append(f"SIP: compose {edge_sip}, chart {values['signalingEdge']['ports']['sip']}")
    renv = svcs["media-relay"]["environment"]
    rtp = values["mediaRelay"]["rtp"]
    if (str(renv["CC_RTP_PORT_MIN"]), str(renv["CC_RTP_PORT_MAX"])) != (str(rtp["portMin"]), str(rtp["portMax"])):
        problems.append(f"RTP: compose {renv['CC_RTP_PORT_MIN']}-{renv['CC_RTP_PORT_MAX']}, "
                        f"chart {rtp['portMin']}-{rtp['portMax']}")
    if problems:
        fail("compose and the chart's defaults differ: " + "; ".join(problems))
    else:
        ok("compose and the chart's defaults agree: gRPC and metrics ports of each service, SIP port, RTP range")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source_dir")
    ap.add_argument("--bin", action="append", default=[])
    ap.add_argument("--probe", default="")
    args = ap.parse_args()
    root = os.path.abspath(args.source_dir)
    bins = {}
    for b in args.bin:
        name, path = b.split("=", 1)
        if path and os.path.exists(path):
            bins[name] = path
    check_dockerfiles(root, bins, args.probe if args.probe and os.path.exists(args.probe) else "")
    check_compose(root, bins)
    check_compose_ports_follow_settings(root)
    check_compose_matches_chart(root)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
