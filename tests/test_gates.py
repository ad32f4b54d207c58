"""The gates around the suite: no test vanishes silently, public functions are typed."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
OURS = ("postprocess", "crawler")
# Datasette plugin: h7's rewrite of report pages lands there; its helpers get hints after it.
HINTS_PENDING = {"postprocess/publish/plugin.py"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else ""


def test_no_module_level_skips_or_importorskip_of_our_modules():
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_bytes())
        for call in _calls(tree):
            name = _name(call.func)
            kwargs = {k.arg: k.value for k in call.keywords}
            if name == "pytest.skip" and "allow_module_level" in kwargs:
                problems.append(f"{path.name}:{call.lineno}: module-level skip")
            if name == "pytest.importorskip" and call.args:
                target = call.args[0]
                if isinstance(target, ast.Constant) and str(target.value).startswith(OURS):
                    problems.append(f"{path.name}:{call.lineno}: importorskip of our module")
    assert problems == []


def _untyped_public_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_bytes())
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name[0] == "_":
            continue
        # Hooks and click commands get their signatures from the framework that calls them.
        decorators = {_name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
        if any(d.endswith(("hookimpl", "command", "group")) for d in decorators):
            continue
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        missing = [a.arg for a in params if a is not None and a.annotation is None]
        if missing or node.returns is None:
            found.append(f"{node.name}({', '.join(missing)}){'' if node.returns else ' -> ?'}")
    return found


def test_public_functions_have_type_hints():
    untyped = {}
    for top in OURS:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel not in HINTS_PENDING and (found := _untyped_public_functions(path)):
                untyped[rel] = found
    assert untyped == {}


def test_hint_checker_finds_missing_hints(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "def a(x: int) -> int: ...\n"
        "def b(x, y: int) -> int: ...\n"
        "async def c(*args: str): ...\n"
        "def _private(x): ...\n"
        "@hookimpl\ndef startup(datasette): ...\n"
    )
    assert _untyped_public_functions(path) == ["b(x)", "c() -> ?"]


def _run_browser_test(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(env_extra, NIANBAO_CHROMIUM="/nonexistent/chromium")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/test_browser_datasette.py::test_browser_atom_feed",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_browser_tests_fail_under_ci_without_chromium():
    proc = _run_browser_test({"CI": "true"})
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "1 error" in proc.stdout
    assert "CI is set: failing instead of skipping" in proc.stdout


def test_browser_tests_skip_with_a_reason_outside_ci_without_chromium():
    proc = _run_browser_test({})
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 skipped" in proc.stdout
    assert "browser tests need /nonexistent/chromium" in proc.stdout


def _fake_checkout(root: Path, codes: dict[str, int]) -> Path:
    """A copy of ./dev beside a .venv whose ruff, mypy and python exit with the given codes."""
    (root / "dev").write_bytes((REPO / "dev").read_bytes())
    (root / "dev").chmod(0o755)
    (root / "pyproject.toml").write_text("")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("ruff", "mypy", "python"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{root}/calls"\nexit {codes[tool]}\n')
        script.chmod(0o755)
    installed = root / ".venv" / ".installed"
    installed.touch()
    os.utime(root / "pyproject.toml", (1, 1))  # older than .installed: no reinstall
    return root


def _dev_test(tmp_path: Path, **codes: int) -> tuple[int, list[str]]:
    root = _fake_checkout(tmp_path, {"ruff": 0, "mypy": 0, "python": 0, **codes})
    env = {**os.environ, "NIANBAO_NO_APT": "1"}
    proc = subprocess.run(
        ["./dev", "test", "-q"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    return proc.returncode, (root / "calls").read_text().splitlines()


def test_dev_test_runs_every_gate_and_passes_when_all_pass(tmp_path):
    assert _dev_test(tmp_path) == (
        0,
        ["ruff check .", "ruff format --check .", "mypy ", "python -m pytest -q"],
    )


def test_dev_test_fails_on_a_lint_finding_and_still_runs_the_tests(tmp_path):
    status, calls = _dev_test(tmp_path, ruff=1)
    assert status == 1
    assert calls[-1] == "python -m pytest -q"


def test_dev_test_fails_on_mypy_errors(tmp_path):
    assert _dev_test(tmp_path, mypy=1)[0] == 1


def test_dev_test_returns_pytest_exit_code(tmp_path):
    assert _dev_test(tmp_path, python=5)[0] == 5  # no tests collected is a failure too


def test_ci_run_calls_exactly_dev_test_with_ci_set():
    lines = [x for x in (REPO / ".ci" / "run").read_text().splitlines() if x and x[0] != "#"]
    assert lines[-1] == "exec ./dev test"
    assert 'export CI="${CI:-1}"' in lines
