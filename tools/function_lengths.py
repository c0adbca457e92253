"""Lists the functions of lra/, models/ and tasks/ longer than a limit (default 60 lines).

    python tools/function_lengths.py [--limit 60]

A function's length runs from its `def` (decorators excluded) to its last line, docstring
included. The argparse builder `lra.cli.parser` is exempt: it is one flat list of options.
Exit status 1 if any other function is longer.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lra", "models", "tasks")
EXEMPT = {"lra/cli.py:parser"}


def lengths(root: Path = ROOT) -> list[tuple[int, str]]:
    """(lines, 'path:qualified.name') of every function and method, longest first."""
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text())
            for node, qualname in _functions(tree, ""):
                out.append((node.end_lineno - node.lineno + 1, f"{rel}:{qualname}"))
    return sorted(out, reverse=True)


def _functions(node: ast.AST, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = prefix + child.name
            if not isinstance(child, ast.ClassDef):
                yield child, name
            yield from _functions(child, name + ".")


def too_long(limit: int = 60) -> list[tuple[int, str]]:
    return [(n, name) for n, name in lengths() if n > limit and name not in EXEMPT]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=60)
    limit = p.parse_args().limit
    long = too_long(limit)
    for n, name in lengths()[:10]:
        print(f"{n:4d}  {name}" + ("  (exempt)" if name in EXEMPT else ""))
    print(f"{len(long)} function(s) over {limit} lines" + (": " + ", ".join(
        name for _, name in long) if long else ""))
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
