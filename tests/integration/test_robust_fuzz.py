"""Property: every bad invocation of `archsearch run` (a bad value for any method field, an unknown key, a bad run
flag, a broken config file, a runs directory that cannot be one, a value past any machine, a constraint no network
of the space meets) ends with exit 2 (usage) or 1 (other), ONE line on stderr, no traceback, no internal error,
and no run directory. Hypothesis draws the invocations; in-process `main` keeps each one cheap."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tempfile
import typing
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsearch._values import field_types
from archsearch.cli import main
from archsearch.methods import method_names, method_spec

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

METHODS = method_names()
BASE = ["--preset", "smoke", "--data", "digits"]

# values no field of their kind accepts (sizes, rates and weights are never negative)
BAD_BY_KIND = {
    int: ["1.5", "true", "false", "abc", "-1", "-7", "[1]", "{a: 1}", ".nan", ".inf", "-.inf", "1e400", "2.000001",
          "''", "[" * 3000 + "]" * 3000],
    float: ["true", "abc", ".nan", ".inf", "-.inf", "-0.5", "-3", "[0.1]", "{a: 1}", "1e400", "fast", "''"],
    bool: ["yes", "no", "on", "1", "0", "2.5", "abc", "[true]", "null"],
    str: ["[1, 2]", "{a: 1}", "true"],
    dict: ["5", "abc", "[1, 2]", "true", "{no_such_recipe_field: 1}"],
}
BAD_FLAGS = {
    "--seed": ["-1", "-100", "18446744073709551616", "1.5", "x", ""],
    "--workers": ["0", "-1", "1000000000000", "4097", "x", "1.5"],
    "--device": ["tpu", "cuda", "cuda:3", "gpu", "xla", "mps", "", "cpu cpu", "meta"],
    "--storage": ["notaurl", "nosuchdb://h/x", "sqlite://", "sqlite:///:memory:", "sqlite:////no/such/dir/l.db",
                  "postgresql+nosuchdriver://u@h/db", "://", "mysql://u@h/db"],
    "--name": ["", " ", "  x", "a/b", ".hidden", "a\nb", "a\tb", "x" * 300, "a\x00b", "..", "a\\b", "\u2028"],
    "--budget": ["inf", "-inf", "nan", "-1", "0", "1e300", "abc", "1e12"],
    "--preset": ["huge", "Paper", ""],
    "--executor": ["dask", "threads", ""],
    "--data": ["nosuchdata", "imagenet-22k", "mnist --data-dir=/no/such/dir", "fashion-mnist --data-dir=/nonexistent",
               ""],
    "--space": ["nosuchspace", "mobilnet", ""],
    "--constraint": ["flops<=abc", "speed<=3", "flops>>3", "latency<=5parsecs", "params<=-2M", "", "flops<=1e999",
                     "params<=1e-9", "flops>=50M", "flops >= 50 M", "params>50M", "latency<=5 hours"],
    "--space-option": ["nosuch=1", "noequals", "input_size=100000"],
    "--ray-address": ["auto", "ray://h:1"],
}
BAD_CONFIGS = [b"method: random\nconstraints: 5\n", b"method: random\nruns_dir: 5\n", b"method: random\ndata: [1]\n",
               b"[" * 5000 + b"]" * 5000, b"method: random\nmethod_options: {x: " + b"[" * 5000 + b"]" * 5000 + b"}\n",
               b"method: [random\n", b"- a list\n- not a mapping\n", b"method: random\nbudjet: 3\n",
               b"method: random\nseed: 1.5\n", b"method: random\nworkers: true\n", b"method: caf\xe9\n",
               b"method: random\nmethod_options: 3\n", b"method: random\nmethod_options: {evaluations: 2.5}\n",
               b"method: random\nname: 'a/b'\n", b"method: random\nbudget: .inf\n", b"\xff\xfe\x00garbage",
               b"method: random\nspace_options: [1]\n", b"method: nosuchmethod\n"]


# values past any machine, or that leave a search nothing to do: each method's thread counts and batch sizes, and
# the cases a fuzz of the CLI once let through
ABSURD = ["threads=1e12", "batch_size=1e12", "recipe={batch_size: 1e12}", "train_size=1e12"]
ABSURD_BY_METHOD = {"nars": ["population=0", "keep=0", "iterations=''", "recipe={lr: 1e9}"],
                    "evolution": ["init_mutations=0", "population=0", "generations=0"],
                    "random": ["val_size=100000", "train_size=100000"]}
BAD_RUNS_DIRS = ["/proc/forbidden", "/dev/null", "/dev/null/runs", "/etc/passwd", ""]


def _kind(annotation: typing.Any) -> type | None:
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    origin = typing.get_origin(args[0]) or args[0]
    return origin if origin in BAD_BY_KIND else None


FIELDS = {m: [(f.name, _kind(field_types(method_spec(m).config_cls).get(f.name)))
              for f in dataclasses.fields(method_spec(m).config_cls)] for m in METHODS}


@st.composite
def bad_set(draw):
    method = draw(st.sampled_from(METHODS))
    name, kind = draw(st.sampled_from([f for f in FIELDS[method] if f[1] is not None]))
    value = draw(st.sampled_from(BAD_BY_KIND[kind]))
    return "set-value", ["run", method, *BASE, "--set", f"{name}={value}"], None


@st.composite
def unknown_key(draw):
    method = draw(st.sampled_from(METHODS))
    key = draw(st.from_regex(r"[a-z][a-z_]{2,12}", fullmatch=True))
    if key in dict(FIELDS[method]):
        key += "_nope"
    form = draw(st.sampled_from(["--set {k}=1", "--set {k}", "--set ={k}", "--{k} 1"]))
    return "unknown-key", ["run", method, *BASE, *form.format(k=key).split()], None


@st.composite
def bad_flag(draw):
    method = draw(st.sampled_from(METHODS))
    flag = draw(st.sampled_from(sorted(BAD_FLAGS)))
    value = draw(st.sampled_from(BAD_FLAGS[flag]))
    base = BASE
    if flag in ("--data", "--preset"):
        base = ["--preset", "smoke"] if flag == "--data" else ["--data", "digits"]
    first, *rest = value.split(" ") if flag == "--data" else (value,)
    return f"flag {flag}", ["run", method, *base, f"{flag}={first}", *rest], None


@st.composite
def absurd_set(draw):
    method = draw(st.sampled_from(METHODS))
    names = dict(FIELDS[method])
    options = [o for o in ABSURD if o.split("=")[0] in names] + ABSURD_BY_METHOD.get(method, [])
    if not options:
        options = ["threads=1e12"]  # an unknown field: exit 2 as well
    return "absurd-set", ["run", method, *BASE, "--set", draw(st.sampled_from(options))], None


@st.composite
def bad_runs_dir(draw):
    method = draw(st.sampled_from(METHODS))
    path = draw(st.sampled_from(BAD_RUNS_DIRS))
    command = draw(st.sampled_from([["run", method, *BASE], ["ls"]]))
    if command == ["ls"] and path in ("", "/proc/forbidden", "/dev/null/runs"):
        path = "/dev/null"  # ls of a path that is no directory yet lists nothing, rightly
    return "runs-dir", [*command, "--runs-dir", path], None


@st.composite
def bad_method(draw):
    name = draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True))
    if name in METHODS:
        name += "x"
    return "method", ["run", name, *BASE], None


@st.composite
def bad_config(draw):
    content = draw(st.sampled_from(BAD_CONFIGS))
    return "config-file", ["run", *BASE, "--config", "{config}"], content


OTHER_COMMANDS = [
    ["resume", "nosuchrun"], ["resume", ""], ["resume", "nosuchrun", "--device", "tpu"],
    ["resume", "nosuchrun", "--workers", "0"], ["show", "nosuchrun"], ["show", "nosuchrun", "--top", "0"],
    ["show", "nosuchrun", "--top", "x"], ["report", "nosuchrun"], ["export", "nosuchrun"],
    ["export", "nosuchrun", "--format", "pickle"], ["ls", "--storage", "notaurl"],
    ["ls", "--storage", "sqlite:////no/such/dir/x.db"], ["ls", "--storage", "nosuchdb://x"],
    ["ls", "--storage", "sqlite:////tmp/archsearch-no-such-ledger.db"], ["bogus-command"], [],
    ["train", "/no/such/arch.json"], ["train", "/no/such/arch.json", "--epochs", "0"],
    ["latency", "build", "--space", "nosuchspace"], ["latency", "build", "--batch-size", "0"],
    ["latency", "build", "--clock", "sundial"], ["run", "random", "--budget", "many"],
]


@st.composite
def other_command(draw):
    argv = draw(st.sampled_from(OTHER_COMMANDS))
    takes_runs_dir = bool(argv) and argv[0] in ("run", "resume", "show", "report", "export", "ls")
    return "other-command", [*argv, *(["--runs-dir", "{root}"] if takes_runs_dir else [])], None


CATEGORIES = {"set-value": bad_set(), "flag": bad_flag(), "unknown-key": unknown_key(), "method": bad_method(),
              "config-file": bad_config(), "other-command": other_command(), "absurd-set": absurd_set(),
              "runs-dir": bad_runs_dir()}
# weights: the finite families (a bad value for every field of every method, every bad flag) get most draws
INVOCATIONS = st.sampled_from(["set-value"] * 5 + ["flag"] * 4 + ["absurd-set"] * 2 + [
    "unknown-key", "method", "config-file", "other-command", "runs-dir"]).flatmap(
    CATEGORIES.__getitem__)
COUNTS: Counter = Counter()


def _fails_cleanly(case) -> None:
    kind, argv, config = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        if config is not None:
            (Path(tmp) / "run.yaml").write_bytes(config)
            argv = [a.replace("{config}", str(Path(tmp) / "run.yaml")) for a in argv]
        if kind not in ("other-command", "runs-dir"):
            argv = [*argv, "--runs-dir", "{root}"]
        argv = [a.replace("{root}", str(root)) for a in argv]
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
        text = err.getvalue()
        assert code in (1, 2), (argv, code, text, out.getvalue()[-500:])
        assert len(text.strip().splitlines()) == 1 and text.startswith("archsearch: error: "), (argv, text)
        assert "Traceback" not in text and "internal error" not in text, (argv, text)
        assert not root.exists() or not any(root.iterdir()), (argv, list(root.iterdir()))
    COUNTS[(kind.split()[0], code)] += 1


def _property(examples: int):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(
        given(INVOCATIONS)(_fails_cleanly))


def _check(examples: int) -> None:
    COUNTS.clear()
    _property(examples)()
    total = sum(COUNTS.values())
    summary = ", ".join(f"{kind} exit {code}: {n}" for (kind, code), n in sorted(COUNTS.items()))
    print(f"\n{total} bad invocations: {summary}")
    assert total >= examples, summary


def test_bad_invocations_end_with_one_line_and_no_run():
    _check(100)


@pytest.mark.slow
def test_600_bad_invocations_end_with_one_line_and_no_run():
    _check(600)
