"""A small renderer for the subset of Helm's template language the chart uses.

There is no Helm binary on the project's machines. This module renders charts/callcenter the
way `helm template` would, for the constructs and functions the chart uses, so that the tests
can parse every rendered manifest and check it. It is NOT Helm:

- It implements Go's text/template actions (if / else if / else, range with and without
  variables, with, define, include, template, variables and assignment, pipelines,
  parentheses, whitespace trimming, comments) and a list of Sprig/Helm functions
  (FUNCTIONS below). Anything else is an error, never silently ignored.
- It is stricter than Helm where Helm is known to hide mistakes: reading a key that does not
  exist under .Values is recorded as a missing value (Helm renders it as empty), and printing
  a map or a list straight into the output is an error (Helm prints Go's "map[...]").
- Like Helm, numbers from values files are float64: printed with Go's %v they turn into
  1e+06 from a million on, which is why templates convert with `int` before printing.
- `lookup` returns an empty map (as `helm template` does), `.Capabilities.APIVersions.Has`
  answers from the api_versions passed in.
- Subcharts (Bitnami PostgreSQL, NATS) are not rendered: their templates are not vendored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import random
import re
import string
from decimal import Decimal
from typing import Any

import yaml


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Values that remember where they came from, so reads of missing keys can be reported.


class VMap(dict):
    """A map from .Values; `path` is its dotted location."""

    def __init__(self, data: dict, path: str, tracker: "Tracker"):
        super().__init__()
        self.path = path
        self.tracker = tracker
        for k, v in data.items():
            self[k] = wrap(v, f"{path}.{k}", tracker)


class VList(list):
    def __init__(self, data: list, path: str, tracker: "Tracker"):
        super().__init__(wrap(v, f"{path}[{i}]", tracker) for i, v in enumerate(data))
        self.path = path


def wrap(v: Any, path: str, tracker: "Tracker") -> Any:
    if isinstance(v, dict):
        return VMap(v, path, tracker)
    if isinstance(v, list):
        return VList(v, path, tracker)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)  # Helm: numbers from YAML values are float64
    return v


class Tracker:
    def __init__(self) -> None:
        self.read: set[str] = set()
        self.missing: dict[str, str] = {}  # path -> template where it was read

    def note_read(self, path: str) -> None:
        self.read.add(path)


def plain(v: Any) -> Any:
    """Strips the tracking wrappers (for toYaml and the like); integral floats become ints.
    A map of values handed over whole counts as read, all of it."""
    if isinstance(v, VMap):
        for k in v:
            v.tracker.note_read(f"{v.path}.{k}")
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# ---------------------------------------------------------------------------------------------
# Go formatting


def go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), which is what Go's %v prints for a float64:
    the shortest digits, in %e form when the exponent is < -4 or >= 6 (1e+06, 4.194304e+06)."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "0"
    sign, dtuple, e = Decimal(repr(float(f))).as_tuple()
    digits = "".join(map(str, dtuple))
    exp = len(digits) + e - 1
    nd = digits.rstrip("0") or "0"
    s = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = nd[0] + ("." + nd[1:] if len(nd) > 1 else "")
        return f"{s}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if exp >= 0:
        if len(nd) <= exp + 1:
            return s + nd + "0" * (exp + 1 - len(nd))
        return s + nd[: exp + 1] + "." + nd[exp + 1 :]
    return s + "0." + "0" * (-exp - 1) + nd


def go_str(v: Any) -> str:
    """What {{ v }} prints."""
    if v is None:
        return ""  # Helm turns <no value> into an empty string
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (dict, list)):
        raise TemplateError(f"a {type(v).__name__} is printed into the output: {plain(v)!r}")
    return str(v)


def truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def to_yaml(v: Any) -> str:
    if v is None:
        return "null"
    out = yaml.safe_dump(plain(v), default_flow_style=False, sort_keys=True, width=1 << 20)
    out = out.rstrip("\n")
    if out.endswith("\n..."):
        out = out[:-4].rstrip("\n")
    return out


# ---------------------------------------------------------------------------------------------
# Lexing and parsing


TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<op>[()|,])
    """,
    re.X,
)


def tokenize(src: str, where: str) -> list[tuple[str, str]]:
    toks = []
    i = 0
    while i < len(src):
        m = TOKEN_RE.match(src, i)
        if not m:
            raise TemplateError(f"{where}: cannot parse action at {src[i:i + 30]!r}")
        kind = m.lastgroup
        text = m.group()
        i = m.end()
        if kind == "ws":
            toks.append(("ws", text))
            continue
        toks.append((kind, text))
    return toks


class Node:
    pass


class Text(Node):
    def __init__(self, text: str):
        self.text = text


class Action(Node):
    def __init__(self, pipe, where):
        self.pipe = pipe
        self.where = where


class If(Node):
    def __init__(self, branches, else_body, kind):
        self.branches = branches  # [(pipe, body)]
        self.else_body = else_body
        self.kind = kind  # "if" or "with"


class Range(Node):
    def __init__(self, vars_, pipe, body, else_body, where):
        self.vars = vars_
        self.pipe = pipe
        self.body = body
        self.else_body = else_body
        self.where = where


class TemplateCall(Node):
    def __init__(self, name, pipe, where):
        self.name = name
        self.pipe = pipe
        self.where = where


# A pipeline: (decl_vars, is_assign, [commands]); a command: [operands]; an operand:
# ("field", [names]) | ("var", name, [names]) | ("lit", value) | ("ident", name)
# | ("sub", pipeline, [names])


class Parser:
    def __init__(self, toks, where):
        self.toks = [t for t in toks if t[0] != "ws"]
        self.raw = toks
        self.i = 0
        self.where = where

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def next(self):
        t = self.peek()
        self.i += 1
        return t

    def pipeline(self, allow_decl=True, range_decl=False):
        decl = []
        assign = False
        if allow_decl:
            # $x := ... | $x = ... | $i, $v := ...
            j = self.i
            names = []
            while j < len(self.toks) and self.toks[j][0] == "var":
                names.append(self.toks[j][1])
                if j + 1 < len(self.toks) and self.toks[j + 1] == ("op", ","):
                    j += 2
                    continue
                j += 1
                break
            if names and j < len(self.toks) and self.toks[j][0] in ("decl", "assign"):
                if len(names) > 1 and not range_decl:
                    raise TemplateError(f"{self.where}: too many declarations")
                decl = names
                assign = self.toks[j][0] == "assign"
                self.i = j + 1
        cmds = [self.command()]
        while self.peek() == ("op", "|"):
            self.next()
            cmds.append(self.command())
        return (decl, assign, cmds)

    def command(self):
        ops = []
        while True:
            k, t = self.peek()
            if k is None or (k == "op" and t in ("|", ")")):
                break
            ops.append(self.operand())
        if not ops:
            raise TemplateError(f"{self.where}: empty command")
        return ops

    def operand(self):
        k, t = self.next()
        if k == "field":
            return ("field", [] if t == "." else t[1:].split("."))
        if k == "var":
            names = []
            k2, t2 = self.peek()
            if k2 == "field" and t2 != "." and self._adjacent():
                self.next()
                names = t2[1:].split(".")
            return ("var", t, names)
        if k == "str":
            return ("lit", json.loads(t))
        if k == "raw":
            return ("lit", t[1:-1])
        if k == "num":
            return ("lit", float(t) if ("." in t or "e" in t.lower()) else int(t))
        if k == "ident":
            if t == "true":
                return ("lit", True)
            if t == "false":
                return ("lit", False)
            if t == "nil":
                return ("lit", None)
            return ("ident", t)
        if (k, t) == ("op", "("):
            p = self.pipeline()
            if self.next() != ("op", ")"):
                raise TemplateError(f"{self.where}: missing )")
            names = []
            k2, t2 = self.peek()
            if k2 == "field" and t2 != "." and self._adjacent():
                self.next()
                names = t2[1:].split(".")
            return ("sub", p, names)
        raise TemplateError(f"{self.where}: unexpected {t!r}")

    def _adjacent(self):
        # a field right after a variable or ')' with no space: $x.a, (...).a
        idx = 0
        count = 0
        for n, tok in enumerate(self.raw):
            if tok[0] == "ws":
                continue
            if count == self.i:
                idx = n
                break
            count += 1
        return idx > 0 and self.raw[idx - 1][0] != "ws"

    def done(self):
        if self.i != len(self.toks):
            raise TemplateError(f"{self.where}: trailing tokens {self.toks[self.i:]}")


ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def lex(src: str, name: str):
    """Splits a template into ('text', s) and ('action', s, line) items, applying trims."""
    items = []
    pos = 0
    for m in ACTION_RE.finditer(src):
        text = src[pos : m.start()]
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        items.append(["text", text])
        line = src.count("\n", 0, m.start()) + 1
        items.append(["action", m.group(2).strip(), line, bool(m.group(3))])
        pos = m.end()
    items.append(["text", src[pos:]])
    # right trims
    for i, it in enumerate(items):
        if it[0] == "action" and it[3] and i + 1 < len(items):
            items[i + 1][1] = items[i + 1][1].lstrip(" \t\r\n")
    return items


def parse(src: str, name: str, defines: dict):
    items = lex(src, name)
    pos = 0

    def where(line):
        return f"{name}:{line}"

    def parse_list(stop):
        nonlocal pos
        body = []
        while pos < len(items):
            it = items[pos]
            if it[0] == "text":
                if it[1]:
                    body.append(Text(it[1]))
                pos += 1
                continue
            act, line = it[1], it[2]
            if act.startswith("/*"):
                if not act.endswith("*/"):
                    raise TemplateError(f"{where(line)}: unterminated comment")
                pos += 1
                continue
            word = act.split(None, 1)[0] if act else ""
            rest = act[len(word):].strip()
            if word in ("end", "else") and word in stop:
                return body, act, line
            if word in ("end", "else"):
                raise TemplateError(f"{where(line)}: unexpected {act}")
            pos += 1
            if word in ("if", "with"):
                branches = []
                cond = rest
                while True:
                    p = Parser(tokenize(cond, where(line)), where(line))
                    pipe = p.pipeline()
                    p.done()
                    b, term, tline = parse_list(("end", "else"))
                    pos += 1
                    branches.append((pipe, b))
                    if term == "end":
                        node = If(branches, None, word)
                        break
                    # else / else if / else with
                    rest2 = term[4:].strip()
                    if rest2.startswith(word + " ") or rest2 == word:
                        cond = rest2[len(word):].strip()
                        continue
                    if rest2:
                        raise TemplateError(f"{where(tline)}: unsupported {term}")
                    eb, term2, _ = parse_list(("end",))
                    pos += 1
                    node = If(branches, eb, word)
                    break
                body.append(node)
            elif word == "range":
                p = Parser(tokenize(rest, where(line)), where(line))
                pipe = p.pipeline(range_decl=True)
                p.done()
                b, term, _ = parse_list(("end", "else"))
                pos += 1
                eb = None
                if term != "end":
                    if term.strip() != "else":
                        raise TemplateError(f"{where(line)}: unsupported {term}")
                    eb, _, _ = parse_list(("end",))
                    pos += 1
                body.append(Range(pipe[0], ([], False, pipe[2]), b, eb, where(line)))
            elif word == "define":
                m = re.match(r'"([^"]+)"$', rest)
                if not m:
                    raise TemplateError(f"{where(line)}: bad define")
                b, _, _ = parse_list(("end",))
                pos += 1
                defines[m.group(1)] = (b, name)
            elif word == "template":
                m = re.match(r'"([^"]+)"\s*(.*)$', rest, re.S)
                if not m:
                    raise TemplateError(f"{where(line)}: bad template call")
                pipe = None
                if m.group(2).strip():
                    p = Parser(tokenize(m.group(2), where(line)), where(line))
                    pipe = p.pipeline()
                    p.done()
                body.append(TemplateCall(m.group(1), pipe, where(line)))
            elif word in ("block", "break", "continue"):
                raise TemplateError(f"{where(line)}: '{word}' is not supported by helmlite")
            else:
                p = Parser(tokenize(act, where(line)), where(line))
                pipe = p.pipeline()
                p.done()
                body.append(Action(pipe, where(line)))
        if stop:
            raise TemplateError(f"{name}: missing {{{{ end }}}}")
        return body, None, None

    body, _, _ = parse_list(())
    return body


# ---------------------------------------------------------------------------------------------
# Evaluation


class Files:
    def __init__(self, chart_dir: str):
        self.chart_dir = chart_dir

    def Get(self, path):  # noqa: N802 (Helm's name)
        full = os.path.join(self.chart_dir, path)
        if not os.path.isfile(full):
            return ""
        with open(full, encoding="utf-8") as f:
            return f.read()


class APIVersions:
    def __init__(self, versions):
        self.versions = set(versions)

    def Has(self, v):  # noqa: N802
        return v in self.versions


class Obj:
    """A struct-like object (.Release, .Chart, .Capabilities)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Scope:
    """Template variables: `:=` declares in the current block, `=` assigns the nearest
    existing variable (which may live in an enclosing block), as in Go's text/template."""

    def __init__(self, parent: "Scope | None" = None, init: dict | None = None):
        self.vars = dict(init or {})
        self.parent = parent

    def _find(self, name):
        s = self
        while s is not None:
            if name in s.vars:
                return s
            s = s.parent
        return None

    def __contains__(self, name):
        return self._find(name) is not None

    def __getitem__(self, name):
        s = self._find(name)
        if s is None:
            raise KeyError(name)
        return s.vars[name]

    def get(self, name, default=None):
        s = self._find(name)
        return default if s is None else s.vars[name]

    def declare(self, name, value):
        self.vars[name] = value

    def assign(self, name, value, where):
        s = self._find(name)
        if s is None:
            raise TemplateError(f"{where}: undefined variable {name}")
        s.vars[name] = value


class Renderer:
    def __init__(self, chart_dir: str, values: dict, release: str = "cc", namespace: str = "callcenter",
                 api_versions=(), kube_version="v1.29.0"):
        self.chart_dir = chart_dir
        self.tracker = Tracker()
        with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as f:
            chart = yaml.safe_load(f)
        self.values = VMap(values, ".Values", self.tracker)
        base_versions = {"v1", "apps/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
                         "batch/v1"}
        self.root = {
            "Values": self.values,
            "Release": Obj(Name=release, Namespace=namespace, Service="Helm", IsInstall=True,
                           IsUpgrade=False, Revision=1),
            "Chart": Obj(Name=chart["name"], Version=chart["version"],
                         AppVersion=chart.get("appVersion", "")),
            "Capabilities": Obj(APIVersions=APIVersions(base_versions | set(api_versions)),
                                KubeVersion=Obj(Version=kube_version, GitVersion=kube_version)),
            "Files": Files(chart_dir),
            "Template": Obj(Name="", BasePath=f"{chart['name']}/templates"),
        }
        self.defines: dict = {}
        self.templates: dict = {}
        tdir = os.path.join(chart_dir, "templates")
        for fn in sorted(os.listdir(tdir)):
            path = os.path.join(tdir, fn)
            if not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8") as f:
                src = f.read()
            self.templates[fn] = parse(src, f"templates/{fn}", self.defines)
            # Helm also knows every file as a template named by its path.
            self.defines[f"{chart['name']}/templates/{fn}"] = (self.templates[fn], fn)
        self.current = ""
        self.depth = 0

    # -- public

    def render_all(self) -> dict[str, str]:
        out = {}
        for fn, body in self.templates.items():
            if fn.startswith("_"):
                continue
            self.current = fn
            self.root["Template"] = Obj(Name=f"{self.root['Chart'].Name}/templates/{fn}",
                                        BasePath=f"{self.root['Chart'].Name}/templates")
            out[fn] = self.exec_list(body, self.root, Scope(init={"$": self.root}))
        return out

    # -- execution

    def exec_list(self, body, dot, vars_):
        parts = []
        scope = Scope(vars_)
        for node in body:
            parts.append(self.exec_node(node, dot, scope))
        return "".join(parts)

    def exec_node(self, node, dot, vars_):
        if isinstance(node, Text):
            return node.text
        if isinstance(node, Action):
            decl, assign, _ = node.pipe
            v = self.eval_pipe(node.pipe, dot, vars_, node.where)
            if decl:
                if assign:
                    vars_.assign(decl[0], v, node.where)
                else:
                    vars_.declare(decl[0], v)
                return ""
            return go_str(v)
        if isinstance(node, If):
            outer = vars_
            for pipe, body in node.branches:
                v = self.eval_pipe(pipe, dot, vars_, "if")
                if pipe[0]:
                    vars_ = Scope(vars_, {pipe[0][0]: v})
                if truthy(v):
                    return self.exec_list(body, v if node.kind == "with" else dot, vars_)
            vars_ = outer
            if node.else_body is not None:
                return self.exec_list(node.else_body, dot, vars_)
            return ""
        if isinstance(node, Range):
            v = self.eval_pipe(node.pipe, dot, vars_, node.where)
            if v is None:
                items = []
            elif isinstance(v, dict):
                items = [(k, v[k]) for k in sorted(v)]
                if isinstance(v, VMap):
                    for k in v:
                        self.tracker.note_read(f"{v.path}.{k}")
            elif isinstance(v, list):
                items = list(enumerate(v))
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                items = [(i, i) for i in range(int(v))]
            else:
                raise TemplateError(f"{node.where}: range over {type(v).__name__}")
            if not items:
                return self.exec_list(node.else_body, dot, vars_) if node.else_body else ""
            out = []
            for k, x in items:
                scope = Scope(vars_)
                if len(node.vars) == 1:
                    scope.declare(node.vars[0], x)
                elif len(node.vars) == 2:
                    scope.declare(node.vars[0], k)
                    scope.declare(node.vars[1], x)
                out.append(self.exec_list(node.body, x, scope))
            return "".join(out)
        if isinstance(node, TemplateCall):
            arg = self.eval_pipe(node.pipe, dot, vars_, node.where) if node.pipe else None
            return self.include(node.name, arg, node.where)
        raise TemplateError(f"unknown node {node}")

    def include(self, name, arg, where):
        if name not in self.defines:
            raise TemplateError(f"{where}: no template named {name!r}")
        self.depth += 1
        if self.depth > 50:
            raise TemplateError(f"{where}: include recursion")
        try:
            body, _ = self.defines[name]
            return self.exec_list(body, arg, Scope(init={"$": arg}))
        finally:
            self.depth -= 1

    def eval_pipe(self, pipe, dot, vars_, where):
        _, _, cmds = pipe
        val = _NOARG
        for cmd in cmds:
            val = self.eval_cmd(cmd, dot, vars_, where, val)
        return val

    def eval_cmd(self, cmd, dot, vars_, where, piped):
        first = cmd[0]
        if first[0] == "ident":
            name = first[1]
            if name not in FUNCTIONS:
                raise TemplateError(f"{where}: function {name!r} is not supported by helmlite")
            if name in ("and", "or"):  # short-circuit like Go 1.18+
                args = cmd[1:]
                vals = []
                for a in args:
                    x = self.eval_operand(a, dot, vars_, where)
                    vals.append(x)
                    if name == "and" and not truthy(x):
                        return x
                    if name == "or" and truthy(x):
                        return x
                if piped is not _NOARG:
                    return piped
                return vals[-1]
            args = [self.eval_operand(a, dot, vars_, where) for a in cmd[1:]]
            if piped is not _NOARG:
                args.append(piped)
            try:
                return FUNCTIONS[name](self, where, *args)
            except TemplateError:
                raise
            except TypeError as e:
                raise TemplateError(f"{where}: {name}: {e}") from e
        # a value, or a method call on a field chain
        if len(cmd) > 1 or piped is not _NOARG:
            target = first
            if target[0] in ("field", "var") and (target[-1] if target[0] == "field" else target[2]):
                names = target[1] if target[0] == "field" else target[2]
                base_op = ("field", names[:-1]) if target[0] == "field" else ("var", target[1], names[:-1])
                obj = self.eval_operand(base_op, dot, vars_, where)
                meth = getattr(obj, names[-1], None)
                if callable(meth):
                    args = [self.eval_operand(a, dot, vars_, where) for a in cmd[1:]]
                    if piped is not _NOARG:
                        args.append(piped)
                    return meth(*args)
            raise TemplateError(f"{where}: cannot call {first}")
        return self.eval_operand(first, dot, vars_, where)

    def eval_operand(self, op, dot, vars_, where):
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "field":
            return self.walk(dot, op[1], where, "." if not op[1] else "")
        if kind == "var":
            name = op[1]
            if name == "$":
                base = vars_.get("$")
            elif name in vars_:
                base = vars_[name]
            else:
                raise TemplateError(f"{where}: undefined variable {name}")
            return self.walk(base, op[2], where, name)
        if kind == "sub":
            v = self.eval_pipe(op[1], dot, vars_, where)
            return self.walk(v, op[2], where, "(...)")
        if kind == "ident":
            name = op[1]
            if name not in FUNCTIONS:
                raise TemplateError(f"{where}: function {name!r} is not supported by helmlite")
            return FUNCTIONS[name](self, where)
        raise TemplateError(f"{where}: bad operand {op}")

    def walk(self, v, names, where, start):
        path = start
        for n in names:
            if v is None:
                raise TemplateError(f"{where}: nil pointer evaluating {path}.{n}")
            if isinstance(v, dict):
                if isinstance(v, VMap):
                    p = f"{v.path}.{n}"
                    self.tracker.note_read(p)
                    if n not in v:
                        self.tracker.missing.setdefault(p, where)
                v = v.get(n)
            elif isinstance(v, Obj):
                if not hasattr(v, n):
                    raise TemplateError(f"{where}: {path} has no field {n}")
                v = getattr(v, n)
            elif hasattr(v, n):
                v = getattr(v, n)
            else:
                raise TemplateError(f"{where}: cannot read .{n} of {type(v).__name__}")
            path += "." + n
        return v


class _NoArg:
    pass


_NOARG = _NoArg()


# ---------------------------------------------------------------------------------------------
# Functions (Go template builtins, Sprig, Helm)


class Int64(int):
    """An int64 (what Sprig's add/sub/mul/div/max/min/int64 return). Go does not convert it
    to a function's `int` parameter: Helm fails with "expected int; got int64"."""


def _int_param(v, where, fn):
    """A Go `int` parameter: an untyped template constant or an `int`, nothing else."""
    if isinstance(v, bool) or not isinstance(v, int) or isinstance(v, Int64):
        kind = {Int64: "int64", float: "float64", str: "string", bool: "bool"}.get(type(v), type(v).__name__)
        raise TemplateError(f"{where}: {fn}: wrong type for value; expected int; got {kind}")
    return v


def _num(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                pass
        raise TemplateError(f"{where}: not a number: {v!r}")
    return v


def _cmp_ok(a, b, where):
    na = isinstance(a, (int, float)) and not isinstance(a, bool)
    nb = isinstance(b, (int, float)) and not isinstance(b, bool)
    if na and nb:
        return
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)) and a is not None and b is not None:
        raise TemplateError(f"{where}: incompatible types for comparison: {a!r} and {b!r}")


def f_eq(r, where, a, *bs):
    for b in bs:
        _cmp_ok(a, b, where)
        if a == b:
            return True
    return False


def f_ne(r, where, a, b):
    _cmp_ok(a, b, where)
    return a != b


def _ord(op):
    def f(r, where, a, b):
        _cmp_ok(a, b, where)
        return op(a, b)
    return f


def f_default(r, where, d, v=None):
    return v if truthy(v) else d


def f_required(r, where, msg, v=None):
    if v is None or (isinstance(v, str) and v == ""):
        raise TemplateError(f"{where}: required: {msg}")
    return v


def f_fail(r, where, msg):
    raise TemplateError(f"{where}: fail: {msg}")


def f_printf(r, where, fmt, *args):
    out = []
    ai = 0
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        i += 1
        if fmt[i] == "%":
            out.append("%")
            i += 1
            continue
        verb = fmt[i]
        i += 1
        a = args[ai]
        ai += 1
        if verb in "sv":
            out.append(go_str(a))
        elif verb == "d":
            if isinstance(a, float):
                out.append(f"%!d(float64={go_float(a)})")
            else:
                out.append(str(int(a)))
        elif verb == "q":
            out.append(json.dumps(go_str(a)))
        else:
            raise TemplateError(f"{where}: printf verb %{verb} not supported")
    return "".join(out)


def f_indent(r, where, n, s):
    pad = " " * _int_param(n, where, "indent")
    return "\n".join(pad + line for line in go_str(s).split("\n"))


def f_nindent(r, where, n, s):
    _int_param(n, where, "nindent")
    return "\n" + f_indent(r, where, n, s)


def f_quote(r, where, *args):
    return " ".join(json.dumps(go_str(a)) for a in args if a is not None)


def f_tostring(r, where, v):
    return go_str(v)


def f_int(r, where, v):
    if v is None:
        return 0
    if isinstance(v, str):
        try:
            return int(float(v))
        except ValueError:
            return 0
    return int(v)


def f_dict(r, where, *kv):
    if len(kv) % 2:
        raise TemplateError(f"{where}: dict needs pairs")
    return {go_str(kv[i]): kv[i + 1] for i in range(0, len(kv), 2)}


def f_get(r, where, m, k):
    # `get` is the explicit "may be absent" read: not reported as missing.
    if isinstance(m, VMap):
        r.tracker.note_read(f"{m.path}.{k}")
    return m.get(k, "")


def f_haskey(r, where, m, k):
    return k in m


def f_index(r, where, v, *keys):
    for k in keys:
        if isinstance(v, dict):
            if isinstance(v, VMap):
                r.tracker.note_read(f"{v.path}.{k}")
                if k not in v:
                    r.tracker.missing.setdefault(f"{v.path}.{k}", where)
            v = v.get(k)
        elif isinstance(v, list):
            v = v[int(k)]
        else:
            raise TemplateError(f"{where}: cannot index {type(v).__name__}")
    return v


def f_include(r, where, name, arg=None):
    return r.include(name, arg, where)


def f_tpl(r, where, text, ctx):
    body = parse(text, f"tpl@{where}", {})
    return r.exec_list(body, ctx, Scope(init={"$": ctx}))


def f_trunc(r, where, n, s):
    n = _int_param(n, where, "trunc")
    return s[:n] if n >= 0 else s[n:]


def f_randalphanum(r, where, n):
    rnd = random.Random(42)  # deterministic here; Helm's is random
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(_int_param(n, where, "randAlphaNum")))


def f_lookup(r, where, *args):
    return {}


def f_until(r, where, n):
    return list(range(_int_param(n, where, "until")))


def f_untilstep(r, where, start, stop, step):
    return list(range(*(_int_param(x, where, "untilStep") for x in (start, stop, step))))


def f_empty(r, where, v):
    return not truthy(v)


def f_ternary(r, where, a, b, cond):
    return a if truthy(cond) else b


def f_len(r, where, v):
    return len(v)


def f_kindis(r, where, kind, v):
    k = {"map": dict, "slice": list, "string": str, "bool": bool}.get(kind)
    if kind in ("int", "float64", "int64"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if k is None:
        raise TemplateError(f"{where}: kindIs {kind} not supported")
    return isinstance(v, k)


def f_toyaml(r, where, v):
    return to_yaml(v)


def f_tojson(r, where, v):
    return json.dumps(plain(v), separators=(",", ":"), sort_keys=True)


def f_sha256sum(r, where, s):
    return hashlib.sha256(go_str(s).encode()).hexdigest()


def f_b64enc(r, where, s):
    return base64.b64encode(go_str(s).encode()).decode()


def f_coalesce(r, where, *vals):
    for v in vals:
        if truthy(v):
            return v
    return None


def f_list(r, where, *vals):
    return list(vals)


def f_has(r, where, needle, haystack):
    return needle in (haystack or [])


def f_join(r, where, sep, items):
    return sep.join(go_str(i) for i in items)


def f_merge(r, where, dst, *srcs):
    out = dict(dst)
    for s in srcs:
        for k, v in s.items():
            out.setdefault(k, v)
    dst.clear() if isinstance(dst, dict) and not isinstance(dst, VMap) else None
    if isinstance(dst, dict) and not isinstance(dst, VMap):
        dst.update(out)
        return dst
    return out


def f_keys(r, where, *maps):
    ks = []
    for m in maps:
        ks.extend(m.keys())
    return ks


FUNCTIONS = {
    "eq": f_eq,
    "ne": f_ne,
    "lt": _ord(lambda a, b: a < b),
    "le": _ord(lambda a, b: a <= b),
    "gt": _ord(lambda a, b: a > b),
    "ge": _ord(lambda a, b: a >= b),
    "and": None,  # handled in eval_cmd
    "or": None,
    "not": lambda r, w, v: not truthy(v),
    "default": f_default,
    "required": f_required,
    "fail": f_fail,
    "printf": f_printf,
    "print": lambda r, w, *a: "".join(go_str(x) for x in a),
    "indent": f_indent,
    "nindent": f_nindent,
    "quote": f_quote,
    "squote": lambda r, w, *a: " ".join("'" + go_str(x) + "'" for x in a if x is not None),
    "toString": f_tostring,
    "int": f_int,
    "int64": lambda r, w, v: Int64(f_int(r, w, v)),
    "float64": lambda r, w, v: float(_num(v, w)),
    "add": lambda r, w, *a: Int64(sum(int(_num(x, w)) for x in a)),
    "sub": lambda r, w, a, b: Int64(int(_num(a, w)) - int(_num(b, w))),
    "mul": lambda r, w, *a: Int64(math.prod(int(_num(x, w)) for x in a)),
    "div": lambda r, w, a, b: Int64(int(_num(a, w)) // int(_num(b, w))),
    "max": lambda r, w, *a: Int64(max(int(_num(x, w)) for x in a)),
    "min": lambda r, w, *a: Int64(min(int(_num(x, w)) for x in a)),
    "dict": f_dict,
    "list": f_list,
    "get": f_get,
    "hasKey": f_haskey,
    "index": f_index,
    "keys": f_keys,
    "sortAlpha": lambda r, w, l: sorted(go_str(x) for x in l),
    "has": f_has,
    "append": lambda r, w, l, v: list(l or []) + [v],
    "join": f_join,
    "merge": f_merge,
    "include": f_include,
    "tpl": f_tpl,
    "toYaml": f_toyaml,
    "toJson": f_tojson,
    "fromYaml": lambda r, w, s: yaml.safe_load(s) or {},
    "b64dec": lambda r, w, s: base64.b64decode(s).decode(),
    "trunc": f_trunc,
    "trimSuffix": lambda r, w, suf, s: s[: -len(suf)] if suf and s.endswith(suf) else s,
    "trimPrefix": lambda r, w, pre, s: s[len(pre):] if pre and s.startswith(pre) else s,
    "trim": lambda r, w, s: s.strip(),
    "replace": lambda r, w, old, new, s: s.replace(old, new),
    "lower": lambda r, w, s: s.lower(),
    "upper": lambda r, w, s: s.upper(),
    "contains": lambda r, w, sub, s: sub in s,
    "hasPrefix": lambda r, w, pre, s: s.startswith(pre),
    "hasSuffix": lambda r, w, suf, s: s.endswith(suf),
    "empty": f_empty,
    "ternary": f_ternary,
    "len": f_len,
    "kindIs": f_kindis,
    "coalesce": f_coalesce,
    "sha256sum": f_sha256sum,
    "b64enc": f_b64enc,
    "randAlphaNum": f_randalphanum,
    "lookup": f_lookup,
    "until": f_until,
    "untilStep": f_untilstep,
}


def render_chart(chart_dir, values, **kw):
    """Returns (renderer, {template file: rendered text})."""
    r = Renderer(chart_dir, values, **kw)
    return r, r.render_all()


def merge_values(base: dict, override: dict) -> dict:
    """Helm's coalescing of -f files: maps merge recursively, anything else replaces."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_values(out[k], v)
        elif v is None:
            out.pop(k, None)  # null deletes a key in Helm
        else:
            out[k] = v
    return out
