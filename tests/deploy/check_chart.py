#!/usr/bin/python3
"""Checks of the Helm chart (ctest deploy_chart). There is no Helm binary here: see
deploy/README.md for what this does and does not prove.

  check_chart.py SOURCE_DIR [--bin SERVICE=PATH ...]

1. values.schema.json is a valid draft-07 schema; values.yaml and every examples/*.yaml
   (merged over values.yaml, as Helm does) validate against it; every key of values.yaml is
   described by the schema (additionalProperties: false everywhere but the subcharts'
   pass-through maps and Kubernetes objects) and every schema property has a default in
   values.yaml.
2. Every literal `.Values.a.b...` in the templates exists in values.yaml.
3. The chart is rendered (tests/deploy/helmlite.py, a subset of Helm's template engine) with
   every example file: no template reads a value that does not exist, every manifest parses
   as YAML and passes structural checks (probes on gRPC health, preStop and grace period,
   non-root / read-only securityContexts, env names are options of the binaries, Services
   select pods and name existing ports, PDBs, HPAs only for the stateless services,
   NetworkPolicies, Secrets referenced exist).
4. Values that must be refused are refused (by the schema or by the templates).
5. Every value of values.yaml is read by the templates in some example.
6. The `config` options the schema accepts exist in the binaries' --help (for the binaries
   passed), and the chart's copies of the alert rules and the dashboard equal deploy/'s.
"""

import argparse
import base64
import copy
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklog import fail, ok, summary  # noqa: E402
import helmlite  # noqa: E402

COMPONENTS = {
    "agent-registry": "agentRegistry",
    "queue-service": "queueService",
    "media-relay": "mediaRelay",
    "signaling-edge": "signalingEdge",
}
STATELESS = {"agent-registry", "queue-service"}
# Environment variables the chart sets that are not options of a binary.
NON_OPTION_ENV = {"PGPASSWORD", "HOST_IP"}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def help_options(binary):
    """name -> CC_ env name of every option in `binary --help`."""
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    text = p.stdout + p.stderr
    opts = dict(re.findall(r"^\s+--([a-z0-9-]+) \((CC_[A-Z0-9_]+), default", text, re.M))
    if not opts:
        raise RuntimeError(f"{binary} --help lists no options")
    return opts


# ---------------------------------------------------------------------------------------------
# 1. schema


def walk_schema_vs_values(schema, values, path, defs):
    """Every schema property has a default in values.yaml (for fixed-shape objects)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    if schema.get("type") != "object" or "properties" not in schema:
        return
    if schema.get("additionalProperties", True) is not False:
        return  # pass-through map (subchart values): only what the chart reads is described
    if not isinstance(values, dict):
        fail(f"values.yaml: {path} should be a map")
        return
    for key, sub in schema["properties"].items():
        if key not in values:
            if path.endswith(".config") or path.split(".")[-1] in ("requests", "limits"):
                continue  # optional options / resources
            fail(f"values.yaml: {path}.{key} is in the schema but has no default")
            continue
        walk_schema_vs_values(sub, values[key], f"{path}.{key}", defs)


def check_schema(chart, examples):
    with open(os.path.join(chart, "values.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    ok("values.schema.json is a valid draft-07 schema")
    validator = jsonschema.Draft7Validator(schema)
    base = load_yaml(os.path.join(chart, "values.yaml"))
    merged = {"values.yaml": base}
    for ex in examples:
        merged[os.path.relpath(ex, chart)] = helmlite.merge_values(base, load_yaml(ex))
    for name, vals in merged.items():
        errs = sorted(validator.iter_errors(vals), key=lambda e: list(e.path))
        for e in errs:
            fail(f"{name}: {'.'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}")
        if not errs:
            ok(f"{name} validates against values.schema.json")
    walk_schema_vs_values(schema, base, "", schema.get("definitions", {}))
    # The schema is closed: every object with fixed properties refuses unknown keys.
    def closed(s, path):
        if s.get("type") == "object" and "properties" in s and path not in ("postgresql", "postgresql.auth", "nats"):
            if s.get("additionalProperties", True) is not False:
                fail(f"values.schema.json: {path or '(root)'} accepts unknown keys")
        for k, sub in s.get("properties", {}).items():
            closed(sub, f"{path}.{k}" if path else k)
    closed(schema, "")
    return schema, validator, base, merged


# ---------------------------------------------------------------------------------------------
# 2. static references


def check_static_refs(chart, base):
    tdir = os.path.join(chart, "templates")
    count = 0
    for fn in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, fn), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            count += 1
            v = base
            for part in m.group(1)[1:].split("."):
                if not isinstance(v, dict) or part not in v:
                    line = text.count("\n", 0, m.start()) + 1
                    fail(f"templates/{fn}:{line}: .Values{m.group(1)} is not in values.yaml")
                    break
                v = v[part]
    ok(f"{count} literal .Values references in templates/ exist in values.yaml")


# ---------------------------------------------------------------------------------------------
# 3. rendering and manifests


def split_docs(fn, text):
    docs = []
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        if not chunk.strip():
            continue
        try:
            d = yaml.safe_load(chunk)
        except yaml.YAMLError as e:
            fail(f"{fn}: rendered YAML does not parse: {e}")
            continue
        if d is None:
            continue
        docs.append((fn, d))
    return docs


def render(chart, values, api_versions=()):
    r, out = helmlite.render_chart(chart, copy.deepcopy(values), api_versions=api_versions)
    docs = []
    for fn, text in out.items():
        if fn.endswith(".txt"):
            continue
        docs.extend(split_docs(fn, text))
    return r, docs


def pod_spec(d):
    if d["kind"] == "Deployment":
        return d["spec"]["template"]["spec"], d["spec"]["template"]["metadata"]
    if d["kind"] == "Job":
        return d["spec"]["template"]["spec"], d["spec"]["template"]["metadata"]
    return None, None


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", text)
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 0.001}[m.group(2)]
    return int(m.group(1)) * mult


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_manifests(name, docs, values, helps):
    kinds = {}
    for fn, d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                fail(f"{name}: {fn}: a document without {key}")
        kinds.setdefault(d.get("kind"), []).append(d)
        n = d.get("metadata", {}).get("name", "")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) or len(n) > 63:
            fail(f"{name}: {d.get('kind')} name {n!r} is not a valid DNS label")
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in kinds.get("Deployment", [])}
    secrets = {d["metadata"]["name"] for d in kinds.get("Secret", [])}
    external_secrets = {values["secrets"]["existingSecret"], values["externalDatabase"]["existingSecret"],
                        values["postgresql"]["auth"].get("existingSecret", "")} - {""}
    if values["postgresql"]["enabled"]:
        external_secrets.add("cc-postgresql")  # the Bitnami chart's Secret (release "cc")

    for comp, key in COMPONENTS.items():
        svc = values[key]
        if not svc["enabled"]:
            if comp in deployments:
                fail(f"{name}: {comp} is disabled but has a Deployment")
            continue
        d = deployments.get(comp)
        if d is None:
            fail(f"{name}: no Deployment for {comp}")
            continue
        spec, meta = pod_spec(d)
        host = key in ("mediaRelay", "signalingEdge") and svc["network"]["mode"] == "hostNetwork"
        where = f"{name}: {comp}"
        # replicas and autoscaling
        hpa = svc.get("autoscaling", {}).get("enabled", False)
        if hpa and "replicas" in d["spec"]:
            fail(f"{where}: replicas set although an HPA owns them")
        if not hpa and d["spec"].get("replicas") != svc["replicaCount"]:
            fail(f"{where}: replicas {d['spec'].get('replicas')} != {svc['replicaCount']}")
        # pod-level settings
        if bool(spec.get("hostNetwork")) != host:
            fail(f"{where}: hostNetwork is {spec.get('hostNetwork')}, mode {svc['network']['mode'] if 'network' in svc else '-'}")
        if host:
            anti = spec.get("affinity", {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
            if not any(t.get("topologyKey") == "kubernetes.io/hostname" for t in anti):
                fail(f"{where}: on the host network without a required per-node anti-affinity")
            if spec.get("dnsPolicy") != "ClusterFirstWithHostNet":
                fail(f"{where}: host network without dnsPolicy ClusterFirstWithHostNet")
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            fail(f"{where}: pod securityContext is not non-root")
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{where}: service account token mounted")
        if spec.get("enableServiceLinks") is not False:
            fail(f"{where}: service links enabled (they inject CC_*-like variables)")
        containers = spec.get("containers", [])
        if len(containers) != 1:
            fail(f"{where}: expected one container")
            continue
        c = containers[0]
        # The gRPC API's tokens: every component reads the Secret's api-tokens, the edge
        # sends its own token, the others carry the admin's (ccctl in the pod).
        env = env_of(c)
        want_token = "/run/cc-api/api-" + ("edge" if comp == "signaling-edge" else "admin") + "-token"
        if env.get("CC_API_TOKENS", {}).get("value") != "/run/cc-api/api-tokens":
            fail(f"{where}: CC_API_TOKENS is not the mounted api-tokens")
        if env.get("CC_API_TOKEN_FILE", {}).get("value") != want_token:
            fail(f"{where}: CC_API_TOKEN_FILE is not {want_token}")
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        tok = vols.get("api-tokens", {}).get("secret", {})
        if tok.get("secretName") not in secrets | external_secrets:
            fail(f"{where}: the api-tokens volume names no Secret of the release")
        if {i["key"] for i in tok.get("items", [])} != {"api-tokens", "api-admin-token", "api-edge-token"}:
            fail(f"{where}: the api-tokens volume does not hold the three token keys")
        if not any(m.get("name") == "api-tokens" and m.get("mountPath") == "/run/cc-api" and m.get("readOnly")
                   for m in c.get("volumeMounts", [])):
            fail(f"{where}: api-tokens not mounted read-only at /run/cc-api")
        csc = c.get("securityContext", {})
        if csc.get("readOnlyRootFilesystem") is not True:
            fail(f"{where}: root filesystem not read-only")
        if csc.get("allowPrivilegeEscalation") is not False:
            fail(f"{where}: privilege escalation allowed")
        if "ALL" not in csc.get("capabilities", {}).get("drop", []):
            fail(f"{where}: capabilities not dropped")
        if not c.get("image", "").endswith(":" + (svc["image"]["tag"] or values["image"]["tag"] or "0.1.0")):
            fail(f"{where}: image {c.get('image')} has an unexpected tag")
        ports = {p["name"]: p for p in c.get("ports", [])}
        for pn, p in ports.items():
            if not isinstance(p["containerPort"], int):
                fail(f"{where}: port {pn} is not an integer: {p['containerPort']!r}")
        if ports.get("grpc", {}).get("containerPort") != svc["ports"]["grpc"]:
            fail(f"{where}: grpc containerPort != ports.grpc")
        if ports.get("metrics", {}).get("containerPort") != svc["ports"]["metrics"]:
            fail(f"{where}: metrics containerPort != ports.metrics")
        # probes: started and ready on grpc.health.v1, alive on the port
        for probe in ("startupProbe", "readinessProbe"):
            if c.get(probe, {}).get("grpc", {}).get("port") != svc["ports"]["grpc"]:
                fail(f"{where}: {probe} is not a gRPC health probe on the gRPC port")
        if "livenessProbe" not in c:
            fail(f"{where}: no livenessProbe")
        # graceful termination
        env = env_of(c)
        cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        if not cmd or cmd[0] != "/bin/sleep" or int(cmd[1]) != svc["preStopSleepSeconds"]:
            fail(f"{where}: preStop is not a sleep of preStopSleepSeconds: {cmd}")
        drain = seconds(env.get("CC_DRAIN_TIMEOUT", {}).get("value", "0"))
        if drain != svc["drainTimeoutSeconds"]:
            fail(f"{where}: CC_DRAIN_TIMEOUT {drain} != drainTimeoutSeconds")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace < svc["preStopSleepSeconds"] + drain + 5:
            fail(f"{where}: grace {grace} s < preStop + drain + 5")
        # environment: options of the binary, no duplicates, secrets exist
        names = [e["name"] for e in c.get("env", [])]
        if len(names) != len(set(names)):
            fail(f"{where}: duplicate env names {sorted(n for n in names if names.count(n) > 1)}")
        opts = helps.get(comp)
        for n in names:
            if n in NON_OPTION_ENV:
                continue
            if not n.startswith("CC_"):
                if not any(e.get("name") == n for e in svc.get("extraEnv", [])):
                    fail(f"{where}: unexpected env {n}")
                continue
            if opts is not None and n not in opts.values():
                fail(f"{where}: {n} is not an option of {comp} (--help)")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] not in secrets and ref["name"] not in external_secrets:
                fail(f"{where}: env {e['name']} reads Secret {ref['name']}, which is neither rendered nor configured")
        if host and key == "signalingEdge" and "$(HOST_IP)" in env.get("CC_SIP_ADVERTISE", {}).get("value", ""):
            if names.index("HOST_IP") > names.index("CC_SIP_ADVERTISE"):
                fail(f"{where}: HOST_IP must come before CC_SIP_ADVERTISE for $(HOST_IP) to expand")
        for req in ("CC_GRPC_LISTEN", "CC_METRICS_LISTEN", "CC_NATS_URL", "CC_INSTANCE_ID"):
            if req not in env:
                fail(f"{where}: {req} not set")
        if env.get("CC_GRPC_LISTEN", {}).get("value") != f"0.0.0.0:{svc['ports']['grpc']}":
            fail(f"{where}: CC_GRPC_LISTEN does not listen on 0.0.0.0:ports.grpc")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        vols = {v["name"] for v in spec.get("volumes", [])}
        for path, vname in mounts.items():
            if vname not in vols:
                fail(f"{where}: volumeMount {path} names a missing volume {vname}")
        if "/tmp" not in mounts:
            fail(f"{where}: no writable /tmp on a read-only root filesystem")
        if key == "mediaRelay" and svc["recordings"]["enabled"]:
            if mounts.get(env.get("CC_RECORDING_DIR", {}).get("value")) is None:
                fail(f"{where}: recordings enabled but CC_RECORDING_DIR is not on a volume")
        if key in ("agentRegistry", "queueService"):
            for req in ("CC_DB_URL", "PGPASSWORD"):
                if req not in env:
                    fail(f"{where}: {req} not set")
            if "@" in env.get("CC_DB_URL", {}).get("value", "") and ":" in env["CC_DB_URL"]["value"].split("@")[0].split("//")[-1]:
                fail(f"{where}: the database password is in CC_DB_URL")
        if values["metrics"]["podAnnotations"]:
            ann = meta.get("annotations", {})
            if ann.get("prometheus.io/port") != str(svc["ports"]["metrics"]):
                fail(f"{where}: prometheus.io/port annotation != metrics port")
        labels = meta.get("labels", {})
        if not selects(d["spec"]["selector"]["matchLabels"], labels):
            fail(f"{where}: the Deployment's selector does not match its pods")

        # Services
        svcs = [s for s in kinds.get("Service", []) if selects(s["spec"].get("selector", {}), labels)]
        cluster = [s for s in svcs if s["spec"].get("type", "ClusterIP") == "ClusterIP"]
        if len(cluster) != 1:
            fail(f"{where}: expected one ClusterIP Service, found {len(cluster)}")
        for s in svcs:
            for p in s["spec"]["ports"]:
                tp = p.get("targetPort")
                if isinstance(tp, str) and tp not in ports:
                    fail(f"{where}: Service {s['metadata']['name']} targets a missing port {tp}")
        lbs = [s for s in svcs if s["spec"].get("type") == "LoadBalancer"]
        if key in ("mediaRelay", "signalingEdge"):
            if host and lbs:
                fail(f"{where}: a LoadBalancer Service although on the host network")
            if not host:
                if len(lbs) != 1:
                    fail(f"{where}: loadBalancer mode without exactly one LoadBalancer Service")
                else:
                    lb = lbs[0]
                    if lb["spec"].get("externalTrafficPolicy") != "Local":
                        fail(f"{where}: the LoadBalancer does not keep client addresses (externalTrafficPolicy)")
                    got = {(p["port"], p["protocol"]) for p in lb["spec"]["ports"]}
                    if key == "mediaRelay":
                        want = {(p, "UDP") for p in range(svc["rtp"]["portMin"], svc["rtp"]["portMax"] + 1)}
                        adv = env.get("CC_RTP_ADVERTISE", {}).get("value")
                    else:
                        want = {(svc["ports"]["sip"], "UDP"), (svc["ports"]["sip"], "TCP")}
                        adv = env.get("CC_SIP_ADVERTISE", {}).get("value", "").rsplit(":", 1)[0]
                    if got != want:
                        fail(f"{where}: the LoadBalancer's ports are not the {'RTP range' if key == 'mediaRelay' else 'SIP port'} (UDP{'' if key == 'mediaRelay' else '+TCP'})")
                    if adv != svc["network"]["advertiseAddress"]:
                        fail(f"{where}: advertised address {adv} != network.advertiseAddress")
        elif lbs:
            fail(f"{where}: {comp} must not be exposed through a LoadBalancer")

        # PodDisruptionBudget
        pdbs = [p for p in kinds.get("PodDisruptionBudget", []) if selects(p["spec"]["selector"]["matchLabels"], labels)]
        if svc["podDisruptionBudget"]["enabled"] != (len(pdbs) == 1):
            fail(f"{where}: PodDisruptionBudget enabled={svc['podDisruptionBudget']['enabled']} but {len(pdbs)} rendered")
        # HPA
        hpas = [h for h in kinds.get("HorizontalPodAutoscaler", []) if h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]]
        if comp not in STATELESS and hpas:
            fail(f"{where}: an HPA for a stateful service")
        if comp in STATELESS and hpa != (len(hpas) == 1):
            fail(f"{where}: autoscaling.enabled={hpa} but {len(hpas)} HPA rendered")

        # NetworkPolicy: pods off the host network are covered by exactly one policy
        pols = [p for p in kinds.get("NetworkPolicy", []) if selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        if values["networkPolicy"]["enabled"] and not host:
            if len(pols) != 1:
                fail(f"{where}: {len(pols)} NetworkPolicies select its pods (want 1)")
            else:
                check_policy(where, pols[0], comp, svc, values)
        if host and pols:
            fail(f"{where}: a NetworkPolicy for a host-network pod (it would not apply)")
        ok(f"{name}: {comp} ({'host network' if host else 'pod network'})")

    # NetworkPolicies for the optional dependencies
    for dep, port in (("postgresql", 5432), ("nats", 4222)):
        pols = [p for p in kinds.get("NetworkPolicy", []) if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == dep]
        want = values["networkPolicy"]["enabled"] and values[dep]["enabled"]
        if want != bool(pols):
            fail(f"{name}: NetworkPolicy for {dep}: expected {want}")
        for p in pols:
            rules = p["spec"]["ingress"]
            client = [r for r in rules if any(pp.get("port") == port for pp in r.get("ports", []))]
            if len(client) != 1:
                fail(f"{name}: {dep} policy has no single rule for port {port}")
                continue
            for peer in client[0].get("from", []):
                if "ipBlock" in peer and peer["ipBlock"]["cidr"] == "0.0.0.0/0":
                    fail(f"{name}: {dep} is open to the world")
            comps = {peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") for peer in client[0].get("from", [])}
            if not {"agent-registry", "queue-service"} <= comps:
                fail(f"{name}: {dep} does not admit the services")
            if not client[0].get("from"):
                fail(f"{name}: {dep} admits anyone")
    # Monitoring objects
    sm = kinds.get("ServiceMonitor", [])
    if values["metrics"]["serviceMonitor"]["enabled"] != bool(sm):
        fail(f"{name}: ServiceMonitor rendered={bool(sm)}")
    for s in sm:
        relabel = s["spec"]["endpoints"][0].get("relabelings", [])
        if not any(r.get("targetLabel") == "cc_service" for r in relabel):
            fail(f"{name}: the ServiceMonitor does not set cc_service (rules and dashboard need it)")
        selected = [x for x in kinds.get("Service", []) if selects(s["spec"]["selector"]["matchLabels"], x["metadata"]["labels"])]
        if len(selected) != sum(1 for k in COMPONENTS.values() if values[k]["enabled"]):
            fail(f"{name}: the ServiceMonitor selects {len(selected)} Services")
    pr = kinds.get("PrometheusRule", [])
    if values["metrics"]["prometheusRule"]["enabled"] != bool(pr):
        fail(f"{name}: PrometheusRule rendered={bool(pr)}")
    for p in pr:
        if not p["spec"].get("groups"):
            fail(f"{name}: the PrometheusRule has no rule groups")
    gd = kinds.get("ConfigMap", [])
    if values["metrics"]["grafanaDashboard"]["enabled"] != bool(gd):
        fail(f"{name}: dashboard ConfigMap rendered={bool(gd)}")
    for cm in gd:
        json.loads(cm["data"]["callcenter.json"])
    jobs = kinds.get("Job", [])
    if values["migrations"]["job"]["enabled"] != bool(jobs):
        fail(f"{name}: migration Job rendered={bool(jobs)}")
    for j in jobs:
        spec, _ = pod_spec(j)
        c = spec["containers"][0]
        if c.get("command") != ["/usr/local/bin/cc-migrate"]:
            fail(f"{name}: the migration Job does not run cc-migrate")
        if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
            fail(f"{name}: the migration Job's root filesystem is writable")
        if "helm.sh/hook" not in j["metadata"].get("annotations", {}):
            fail(f"{name}: the migration Job is not a Helm hook")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] not in secrets and ref["name"] not in external_secrets:
                fail(f"{name}: the migration Job reads Secret {ref['name']}, which does not exist")
    if values["secrets"]["existingSecret"] and secrets - {""}:
        fail(f"{name}: a Secret is rendered although secrets.existingSecret is set")
    for s in kinds.get("Secret", []):
        for k in ("db-password", "sip-realm", "auth-secret", "api-tokens", "api-admin-token",
                  "api-edge-token"):
            if k not in s.get("data", {}):
                fail(f"{name}: the Secret lacks {k}")
        if "api-tokens" in s.get("data", {}):
            roles = [ln.split()[0] for ln in base64.b64decode(s["data"]["api-tokens"]).decode().splitlines() if ln.strip()]
            if sorted(roles) != ["admin", "edge"]:
                fail(f"{name}: the Secret's api-tokens holds roles {roles}, expected admin and edge")


def check_policy(where, pol, comp, svc, values):
    np = values["networkPolicy"]
    if pol["spec"].get("policyTypes") != ["Ingress"]:
        fail(f"{where}: policyTypes {pol['spec'].get('policyTypes')}")
    world = []
    for rule in pol["spec"].get("ingress", []):
        peers = rule.get("from")
        open_ = peers is None or any("ipBlock" in p and p["ipBlock"]["cidr"] in ("0.0.0.0/0", "::/0") for p in peers)
        for p in rule.get("ports", []):
            if open_:
                world.append((p["port"], p.get("protocol", "TCP")))
    metrics = svc["ports"]["metrics"]
    world = [w for w in world if not (w[0] == metrics and not np["metricsFrom"])]
    if comp == "signaling-edge":
        allowed = {(svc["ports"]["sip"], "UDP"), (svc["ports"]["sip"], "TCP")}
    elif comp == "media-relay":
        allowed = {(svc["rtp"]["portMin"], "UDP")}
    else:
        allowed = set()
    extra = set(world) - allowed
    if extra:
        fail(f"{where}: open to outside traffic on {sorted(extra)}")
    grpc_rules = [r for r in pol["spec"]["ingress"] if any(p["port"] == svc["ports"]["grpc"] for p in r.get("ports", []))]
    if comp != "signaling-edge":
        if not grpc_rules:
            fail(f"{where}: the edge cannot reach the gRPC port")
        else:
            peers = grpc_rules[0].get("from", [])
            if not any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "signaling-edge" for p in peers):
                fail(f"{where}: gRPC not open to the edge's pods")
            edge_host = values["signalingEdge"]["enabled"] and values["signalingEdge"]["network"]["mode"] == "hostNetwork"
            if edge_host and not all({"ipBlock": {"cidr": c}} in peers for c in np["nodeCIDRs"]):
                fail(f"{where}: the edge is on the host network but the nodes may not reach gRPC")


# ---------------------------------------------------------------------------------------------
# 4. refusals


def expect_refused(chart, validator, base, label, override, expect):
    vals = helmlite.merge_values(base, override)
    errs = list(validator.iter_errors(vals))
    if errs:
        if expect == "schema":
            ok(f"refused by the schema: {label}")
        else:
            fail(f"{label}: refused by the schema, expected the templates to refuse it: {errs[0].message}")
        return
    try:
        render(chart, vals)
    except helmlite.TemplateError as e:
        if expect == "template":
            ok(f"refused by the templates: {label} ({str(e).split(': ', 1)[-1][:100]})")
        else:
            fail(f"{label}: expected the schema to refuse it, the templates did: {e}")
        return
    fail(f"{label}: accepted, should be refused")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source_dir")
    ap.add_argument("--bin", action="append", default=[], help="SERVICE=PATH of a binary for --help")
    args = ap.parse_args()
    root = os.path.abspath(args.source_dir)
    chart = os.path.join(root, "charts", "callcenter")
    examples = sorted(os.path.join(chart, "examples", f) for f in os.listdir(os.path.join(chart, "examples")) if f.endswith(".yaml"))
    helps = {}
    for b in args.bin:
        comp, path = b.split("=", 1)
        if comp in COMPONENTS and path and os.path.exists(path):
            helps[comp] = help_options(path)

    schema, validator, base, merged = check_schema(chart, examples)
    check_static_refs(chart, base)

    # Render every example (twice more for the optional branches: with the monitoring CRDs
    # known, and the example's own toggles).
    read = set()
    for name, vals in merged.items():
        if name == "values.yaml":
            try:
                render(chart, vals)
                fail("values.yaml alone rendered; it should require externalDatabase.host")
            except helmlite.TemplateError as e:
                if "externalDatabase.host is required" in str(e):
                    ok("values.yaml alone is refused with: externalDatabase.host is required ...")
                else:
                    fail(f"values.yaml alone: unexpected error {e}")
            continue
        try:
            r, docs = render(chart, vals)
        except helmlite.TemplateError as e:
            fail(f"{name}: rendering failed: {e}")
            continue
        for path, where in sorted(r.tracker.missing.items()):
            fail(f"{name}: {where} reads {path}, which does not exist")
        read |= r.tracker.read
        check_manifests(name, docs, vals, helps)
        ok(f"{name}: {len(docs)} manifests rendered and checked")

    # 4. values that must be refused
    mini = load_yaml(os.path.join(chart, "examples", "minimal.yaml"))
    m = lambda extra: helmlite.merge_values(mini, extra)  # noqa: E731
    expect_refused(chart, validator, base, "an unknown top-level key", m({"replicas": 3}), "schema")
    expect_refused(chart, validator, base, "a misspelt service key", m({"queueService": {"replicas": 3}}), "schema")
    expect_refused(chart, validator, base, "an option the chart sets itself in config",
                   m({"agentRegistry": {"config": {"grpc-listen": "0.0.0.0:1"}}}), "schema")
    expect_refused(chart, validator, base, "a misspelt option in config",
                   m({"queueService": {"config": {"match-intervall": "1s"}}}), "schema")
    expect_refused(chart, validator, base, "a malformed duration in config",
                   m({"queueService": {"config": {"match-interval": "soon"}}}), "schema")
    expect_refused(chart, validator, base, "an unknown network mode",
                   m({"signalingEdge": {"network": {"mode": "nodePort"}}}), "schema")
    expect_refused(chart, validator, base, "two edges behind one load balancer address",
                   m({"signalingEdge": {"replicaCount": 2, "network": {"mode": "loadBalancer", "advertiseAddress": "198.51.100.1"}}}), "schema")
    expect_refused(chart, validator, base, "a relay behind a load balancer without an address",
                   m({"mediaRelay": {"network": {"mode": "loadBalancer"}}}), "schema")
    expect_refused(chart, validator, base, "a grace period shorter than preStop + drain",
                   m({"signalingEdge": {"drainTimeoutSeconds": 300, "terminationGracePeriodSeconds": 60}}), "template")
    expect_refused(chart, validator, base, "no NATS at all", {"externalDatabase": {"host": "pg"}}, "template")
    expect_refused(chart, validator, base, "an RTP range of one port",
                   m({"mediaRelay": {"rtp": {"portMin": 30000, "portMax": 30000}}}), "template")
    expect_refused(chart, validator, base, "SIP on port 0",
                   m({"signalingEdge": {"ports": {"sip": 0}}}), "schema")

    # 5. every value is used somewhere
    def leaves(v, path):
        if isinstance(v, dict) and v:
            for k, x in v.items():
                yield from leaves(x, f"{path}.{k}")
        else:
            yield path
    unused = []
    for p in leaves(base, ".Values"):
        if p.startswith((".Values.postgresql.", ".Values.nats.")) and not p.endswith(".enabled") \
                and p not in (".Values.postgresql.auth.username", ".Values.postgresql.auth.database", ".Values.postgresql.auth.existingSecret"):
            continue  # passed to the subcharts
        if not any(r == p or r.startswith(p + ".") or r.startswith(p + "[") for r in read):
            unused.append(p)
    for p in unused:
        fail(f"values.yaml: {p} is never read by the templates (in any example)")
    if not unused:
        ok("every value in values.yaml is read by the templates")

    # 6. config options exist; chart copies equal deploy/
    for comp, key in COMPONENTS.items():
        cfg = schema["properties"][key]["properties"]["config"]["properties"]
        if comp not in helps:
            print(f"skip: {comp} binary not given: its config options are not compared with --help")
            continue
        missing = sorted(set(cfg) - set(helps[comp]))
        if missing:
            fail(f"values.schema.json: {key}.config accepts {missing}, which {comp} --help does not list")
        else:
            ok(f"{key}.config: every option exists in {comp} --help ({len(cfg)})")
    for copy_, orig in (("files/alerts.yml", "deploy/prometheus/alerts.yml"),
                        ("files/callcenter-dashboard.json", "deploy/grafana/dashboards/callcenter.json")):
        with open(os.path.join(chart, copy_), "rb") as a, open(os.path.join(root, orig), "rb") as b:
            if a.read() != b.read():
                fail(f"charts/callcenter/{copy_} differs from {orig} (copy it over)")
            else:
                ok(f"charts/callcenter/{copy_} equals {orig}")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
