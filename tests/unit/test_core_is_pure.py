"""monitor/core is a pure core: no I/O frameworks, no outer layers, no wall clock, no cycles.

Reads the source of every module under monitor/core/ (its AST, nothing is imported) and
fails naming the file and line of each violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "monitor" / "core"

#: top-level packages core code may never import (I/O, metrics, the Kafka-facing services)
FORBIDDEN_TOP = frozenset({"aiokafka", "faust", "mode", "redis", "prometheus_client", "agents"})

#: clock readings: `time.<name>()` and `datetime.<name>()` / `date.<name>()`
TIME_CLOCKS = frozenset(
    {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "clock_gettime",
        "clock_gettime_ns",
    }
)
DATE_CLOCKS = frozenset({"now", "utcnow", "today"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of a `from ... import` (relative ones resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(module: str, path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, imported module) for every import anywhere in the module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, path, node)
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _forbidden(name: str) -> bool:
    top = name.split(".")[0]
    if top in FORBIDDEN_TOP:
        return True
    return (
        top == "monitor"
        and name not in ("monitor", "monitor.core")
        and not (name.startswith("monitor.core."))
    )


def import_violations(module: str, path: Path, tree: ast.AST) -> list[str]:
    rel = path.relative_to(CORE.parents[1])
    return [
        f"{rel}:{line}: imports {name}"
        for line, name in _imports(module, path, tree)
        if _forbidden(name)
    ]


def clock_violations(path: Path, tree: ast.AST) -> list[str]:
    """Calls of the wall clock: `time.time()`, `datetime.now()`, `date.today()`, ... and
    imports of clock functions (`from time import monotonic`)."""
    rel = path.relative_to(CORE.parents[1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [
                f"{rel}:{node.lineno}: imports time.{a.name}"
                for a in node.names
                if a.name in TIME_CLOCKS
            ]
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (owner_name == "time" and node.attr in TIME_CLOCKS) or (
            owner_name in ("datetime", "date") and node.attr in DATE_CLOCKS
        ):
            found.append(f"{rel}:{node.lineno}: reads the clock ({owner_name}.{node.attr})")
    return found


def _runtime_imports(module: str, path: Path, tree: ast.Module) -> set[str]:
    """Modules imported when `module` is imported: module-level statements only, not
    under `if TYPE_CHECKING:` and not inside functions (deferred imports)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                test = node.test
                if getattr(test, "id", None) == "TYPE_CHECKING" or (
                    getattr(test, "attr", None) == "TYPE_CHECKING"
                ):
                    visit(node.orelse)
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                found.update(name for _, name in _imports(module, path, node))

    visit(tree.body)
    return found


def import_cycles() -> list[list[str]]:
    """Cycles among core modules, counting that importing `a.b.c` runs `a.b`'s
    `__init__` first. A module importing its own parent package is no edge: the parent is
    always initialised before its children."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for name in _runtime_imports(module, path, tree):
            parts = name.split(".")
            for n in range(1, len(parts) + 1):
                prefix = ".".join(parts[:n])
                if prefix in MODULES and not (module + ".").startswith(prefix + "."):
                    if prefix != module:
                        targets.add(prefix)
        graph[module] = targets
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            dfs(module, [])
    return cycles


@pytest.mark.parametrize("module", sorted(MODULES))
def test_core_module_imports_no_io_and_reads_no_clock(module: str) -> None:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert import_violations(module, path, tree) + clock_violations(path, tree) == []


def test_core_modules_import_each_other_without_cycles() -> None:
    assert import_cycles() == []


def test_the_checks_see_what_they_forbid() -> None:
    source = (
        "import redis\nfrom monitor.io import metrics\nfrom agents.rules import X\n"
        "from datetime import datetime, date\nimport time\nfrom time import monotonic\n"
        "from monitor.core.state import CustomerState\nimport schemas, orjson\n"
        "a = datetime.now()\nb = date.today()\nc = time.time()\nd = time.perf_counter()\n"
        "e = datetime.fromisoformat('2026-01-01')\n"
    )
    path = CORE / "rules" / "example.py"
    tree = ast.parse(source)
    imports = import_violations("monitor.core.rules.example", path, tree)
    assert [v.split(": ", 1)[1] for v in imports] == [
        "imports redis",
        "imports monitor.io",
        "imports monitor.io.metrics",
        "imports agents.rules",
        "imports agents.rules.X",
    ]
    clocks = [v.split(": ", 1)[1] for v in clock_violations(path, tree)]
    assert clocks == [
        "imports time.monotonic",
        "reads the clock (datetime.now)",
        "reads the clock (date.today)",
        "reads the clock (time.time)",
        "reads the clock (time.perf_counter)",
    ]
    relative = ast.parse("from ...io import metrics\nfrom ..pack import Pack\n")
    assert [
        v.split(": ", 1)[1] for v in import_violations("monitor.core.rules.example", path, relative)
    ] == ["imports monitor.io", "imports monitor.io.metrics"]
