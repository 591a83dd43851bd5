#!/usr/bin/python3
"""Checks of the Grafana dashboard and the alert rules against the services' metrics
(ctest deploy_observability). promtool's own checks (check config, check rules, test rules)
are separate ctest entries.

  check_observability.py SOURCE_DIR

- The metric names the services export are read from their source (prometheus-cpp
  Build{Counter,Gauge,Histogram}().Name("...") and the services' Gauge(r, "...") helpers;
  histograms add _bucket, _sum and _count).
- deploy/grafana/dashboards/callcenter.json parses, has the sections (per-service health,
  queues, agents, calls, SIP, media), unique panel ids, panels inside the 24-column grid, a
  query in every panel, datasources through the ${datasource} variable, only template
  variables it defines, and every metric in its queries is one the services export.
- Every query of the dashboard is valid PromQL: they are written, with Grafana's variables
  substituted, into a rules file that `promtool check rules` parses.
- Every metric in deploy/prometheus/alerts.yml is one the services export (or `up`), and the
  alert names the issue asks for are there.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklog import fail, ok, summary  # noqa: E402


def exported_metrics(root):
    """{metric name: type} from the services' source."""
    names = {}
    for dirpath, _, files in os.walk(os.path.join(root, "services")):
        if os.sep + "test" in dirpath:
            continue
        for fn in files:
            if not fn.endswith((".cpp", ".h")):
                continue
            with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                text = f.read()
            for kind, name in re.findall(r'Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\("(\w+)"\)', text):
                names[name] = kind.lower()
            # helpers such as Gauge(r, "cc_relay_legs", "...") wrapping BuildGauge()
            for helper, name in re.findall(r'\b(Gauge|Counter|Histogram)\(\s*\w+\s*,\s*"(cc_\w+)"', text):
                names.setdefault(name, helper.lower())
    series = set()
    for name, kind in names.items():
        series.add(name)
        if kind == "histogram":
            series |= {name + "_bucket", name + "_sum", name + "_count"}
        if kind == "summary":
            series |= {name + "_sum", name + "_count"}
    return names, series


PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "rate", "irate", "increase", "delta", "deriv",
    "histogram_quantile", "absent", "vector", "clamp_min", "clamp_max", "topk", "bottomk",
    "label_values", "offset", "bool", "time", "scalar", "abs", "round", "avg_over_time",
    "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "quantile_over_time",
    "changes", "resets", "sort", "sort_desc", "label_replace", "le", "inf",
}


def metrics_in(expr):
    """Metric names in a PromQL expression (not label names, not functions)."""
    e = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    names = set()
    for tok in re.findall(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        if tok.lower() in PROMQL_WORDS:
            continue
        names.add(tok)
    return names


def dashboard_targets(dash):
    for p in dash.get("panels", []):
        yield from ((p, t) for t in p.get("targets", []))
        for sub in p.get("panels", []):
            yield from ((sub, t) for t in sub.get("targets", []))


def dashboard_metrics(path):
    """Every metric name the dashboard queries (used by the integration test too)."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    out = set()
    for _, t in dashboard_targets(dash):
        out |= metrics_in(t.get("expr", ""))
    return out


def substitute(expr):
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
            .replace("$__range", "1h").replace("${queue}", ".*").replace("$queue", ".*"))


def check_dashboard(root, series):
    path = os.path.join(root, "deploy", "grafana", "dashboards", "callcenter.json")
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    ok("the dashboard parses as JSON")
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in dash:
            fail(f"dashboard: no {key}")
    rows = [p["title"].lower() for p in dash["panels"] if p.get("type") == "row"]
    for want in ("per-service health", "queues", "agents", "calls", "sip", "media"):
        if want not in rows:
            fail(f"dashboard: no '{want}' row (rows: {rows})")
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        fail("dashboard: duplicate panel ids")
    variables = {v["name"] for v in dash["templating"]["list"]}
    if "datasource" not in variables:
        fail("dashboard: no datasource variable")
    for p in dash["panels"]:
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24 or g.get("w", 0) <= 0 or g.get("h", 0) <= 0:
            fail(f"dashboard: panel {p.get('title')} outside the grid: {g}")
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            fail(f"dashboard: panel {p.get('title')} has no query")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"dashboard: panel {p.get('title')} does not use the ${{datasource}} variable")
    used = set()
    exprs = []
    for p, t in dashboard_targets(dash):
        expr = t.get("expr", "")
        if not expr:
            fail(f"dashboard: a query of {p.get('title')} is empty")
            continue
        for var in re.findall(r"\$\{?(\w+)", expr):
            if not var.startswith("__") and var not in variables:
                fail(f"dashboard: {p.get('title')} uses an undefined variable ${var}")
        names = metrics_in(expr)
        unknown = sorted(n for n in names if n not in series and n != "up")
        if unknown:
            fail(f"dashboard: {p.get('title')}: {unknown} are not exported by any service")
        used |= names
        exprs.append((p.get("title"), substitute(expr)))
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if v.get("type") == "query":
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q or "")
            if not m:
                fail(f"dashboard: variable {v['name']}: unexpected query {q!r}")
            elif m.group(1) not in series:
                fail(f"dashboard: variable {v['name']} reads {m.group(1)}, which no service exports")
    ok(f"dashboard: {len(exprs)} queries over {len(used)} metrics, all exported by the services")
    # PromQL syntax through promtool
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
        tmp = f.name
    try:
        p = subprocess.run(["promtool", "check", "rules", tmp], capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"dashboard: promtool rejects a query:\n{p.stdout}{p.stderr}")
        else:
            ok(f"dashboard: promtool parses all {len(exprs)} queries")
    finally:
        os.unlink(tmp)
    return used


def check_alerts(root, series):
    path = os.path.join(root, "deploy", "prometheus", "alerts.yml")
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    names = set()
    for g in rules["groups"]:
        for r in g["rules"]:
            names.add(r.get("alert"))
            unknown = sorted(n for n in metrics_in(r["expr"]) if n not in series and n != "up")
            if unknown:
                fail(f"alerts.yml: {r.get('alert')}: {unknown} are not exported by any service")
            if r.get("labels", {}).get("severity") not in ("warning", "critical"):
                fail(f"alerts.yml: {r.get('alert')}: no severity")
            for k in ("summary", "description"):
                if not r.get("annotations", {}).get(k):
                    fail(f"alerts.yml: {r.get('alert')}: no {k}")
    wanted = {
        "service down": "CallcenterServiceDown",
        "queue service level below target": "CallcenterQueueServiceLevelLow",
        "longest wait above threshold": "CallcenterQueueLongestWaitHigh",
        "calls failing to connect": "CallcenterCallsFailingToConnect",
        "relay packet loss": "CallcenterRelayPacketLoss",
        "port pool nearly exhausted": "CallcenterRelayPortPoolNearlyExhausted",
        "registrations failing auth in bursts": "CallcenterRegistrationAuthFailureBurst",
    }
    for what, name in wanted.items():
        if name not in names:
            fail(f"alerts.yml: no alert for {what} ({name})")
    with open(os.path.join(root, "deploy", "prometheus", "alerts_test.yml"), encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])
              if t.get("exp_alerts")}
    for n in sorted(names - tested):
        fail(f"alerts_test.yml: {n} is never tested firing")
    ok(f"alerts.yml: {len(names)} alerts over exported metrics, each tested firing in alerts_test.yml")


def main():
    root = os.path.abspath(sys.argv[1])
    names, series = exported_metrics(root)
    if len(names) < 20:
        fail(f"only {len(names)} metrics found in the services' source: the scan is broken")
    ok(f"{len(names)} metrics exported by the services (from their source)")
    check_dashboard(root, series)
    check_alerts(root, series)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
