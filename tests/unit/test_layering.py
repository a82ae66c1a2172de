"""The core never imports Qt or the GUI (STYLE.md, after Anki's pylib/qt split), and reaches
libVLC only lazily, so it runs anywhere: tests, the CLI, a headless server. Its rooms import
one way (docs/ARCHITECTURE.md): the ground, then storage, then monitoring and music side by
side, then the session, integration, exports, the clinic hub, and the command line on top; no module imports
itself back through a circle; the screens import the core only, and only the program's entry
point (ui/app.py) hands a subcommand to the command line."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: this test process may already have Qt loaded by other tests.
PROBE = """
import importlib, json, pkgutil, sys
import kapsession
names = ["kapsession"]
for info in pkgutil.walk_packages(kapsession.__path__, "kapsession."):
    importlib.import_module(info.name)
    names.append(info.name)
def loaded(prefix):
    return sorted(n for n in sys.modules if n == prefix or n.startswith(prefix + "."))
print(json.dumps({
    "core": names,
    "forbidden": loaded("PySide6") + loaded("shiboken6") + loaded("ui") + loaded("vlc"),
}))
"""


def test_importing_every_core_module_loads_no_qt_no_gui_and_no_vlc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,  # the ui package is importable from here, so an import of it would succeed
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)

    assert report["forbidden"] == []
    core = REPO / "kapsession"
    modules = {
        ".".join(p.relative_to(core).with_suffix("").parts).removesuffix(".__init__")
        for p in core.rglob("*.py")
        if p.name != "__init__.py" or p.parent != core
    }
    assert {n.removeprefix("kapsession.") for n in report["core"][1:]} == modules, (
        "every core module was imported"
    )


def test_the_start_up_path_does_not_import_numpy_or_pandas_and_numpy_still_works_later() -> None:
    # sqlite-utils imports them when installed (the review plots install numpy): ~60 ms of
    # every start-up, for type mappings kapsession never uses.
    probe = (
        "import sys, kapsession.storage.store, kapsession.session.live, kapsession.cli\n"
        "print(sorted(n for n in ('numpy', 'pandas') if n in sys.modules))\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('numpy'):\n"
        "    import numpy\n"
        "    print(int(numpy.arange(4).sum()))\n"
        "else:\n"
        "    print(6)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "6"]


# The rooms, lowest first; a room imports only rooms of a lower rank (and the ground, rank 0).
RANK = {
    "": 0,  # the ground: clock, errors, signals, limits, the TOML reader, text checks
    "storage": 1,
    "monitoring": 2,
    "music": 2,
    "session": 3,
    "integration": 4,
    "exports": 5,
    "hub": 6,  # the clinic hub: its export is the exports room's document, read from the hub
    "cli": 7,
}


def _imports(path: Path) -> set[str]:
    """The kapsession modules a file imports (at any depth: lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kapsession" or node.module.startswith("kapsession."):
                base = node.module
                found |= {
                    f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                    for a in node.names
                }
        elif isinstance(node, ast.ImportFrom) and node.level and "kapsession" in path.parts:
            raise AssertionError(f"{path}: relative import; say the room (from kapsession.x ...)")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kapsession")}
    return found


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (REPO / "kapsession" / rel.with_suffix(".py")).is_file() or (
        REPO / "kapsession" / rel / "__init__.py"
    ).is_file()


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else ""


def _core_graph() -> dict[str, set[str]]:
    core = REPO / "kapsession"
    graph = {}
    for path in core.rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        graph[name] = _imports(path) - {name}
    return graph


def test_every_room_imports_only_the_rooms_below_it() -> None:
    assert set(RANK) - {""} == {
        p.name for p in (REPO / "kapsession").iterdir() if (p / "__init__.py").is_file()
    }, "every room has a rank here and in docs/ARCHITECTURE.md"
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _core_graph().items()
        for target in targets
        if target != "kapsession"
        and _room(target) != _room(module)
        and RANK[_room(target)] >= RANK[_room(module)]
    )
    assert upward == [], "imports that point up or sideways between rooms"


def _circles(graph: dict[str, set[str]]) -> list[str]:
    """Each import circle of the graph, as a -> b -> a."""
    circles: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt in graph and not state.get(nxt):
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if not state.get(start):
            visit(start, [start])
    return circles


def test_no_core_module_imports_itself_back_through_a_circle() -> None:
    assert _circles(_core_graph()) == []


def test_screens_import_the_core_and_only_the_entry_point_reaches_the_command_line() -> None:
    reaching = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "ui").rglob("*.py")
        if any(m == "kapsession.cli" or m.startswith("kapsession.cli.") for m in _imports(path))
    )
    assert reaching == ["ui/app.py"]
    import_lines = [
        n
        for path in (REPO / "kapsession").rglob("*.py")
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    names = {a.name for n in import_lines if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in import_lines if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in names if m == "ui" or m.startswith(("ui.", "PySide6", "shiboken6"))}


def _ui_graph() -> dict[str, set[str]]:
    """The screens' own imports of each other (relative ones resolved; lazy ones count)."""

    def module(path: Path) -> str:
        return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")

    def exists(dotted: str) -> bool:
        base = REPO.joinpath(*dotted.split("."))
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    graph: dict[str, set[str]] = {}
    for path in (REPO / "ui").rglob("*.py"):
        name = module(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (node.level - 1)]
                    target = ".".join([*parts, *([node.module] if node.module else [])])
                if target == "ui" or target.startswith("ui."):
                    found |= {
                        f"{target}.{a.name}" if exists(f"{target}.{a.name}") else target
                        for a in node.names
                    }
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("ui.")}
        graph[name] = found - {name}
    return graph


def test_no_screen_module_imports_itself_back_through_a_circle() -> None:
    graph = _ui_graph()
    assert graph["ui.main_window"] >= {"ui.live.screen", "ui.lock"}  # the resolver sees edges
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
