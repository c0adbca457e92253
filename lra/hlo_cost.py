"""XLA's operation and byte counts of a compiled program, each loop's body counted as many times
as the loop runs.

XLA's cost analysis (HloCostAnalysis, what `compiled.cost_analysis()` reports) counts a while
loop's body once, whatever its trip count: a step under train.grad_accum=K (lax.scan over K
micro-batches, lra/steps.py) would count one micro-batch. And an executable compiled for a
device this machine does not have (lra/plan.py) has no cost analysis at all. Here the same
analysis runs on the program's optimised HLO module, on this machine's CPU client (the analysis
reads the HLO, not the device), once for the whole module and once more for each loop body and
each call on the way to one (each as the entry of a module of the computations it reaches), and
each body's counts are weighted by its trip count, which XLA's loop analysis writes into the
while instruction (`known_trip_count`). A computation's weighted count W is

    W(c) = C(c) + sum over its loops and calls k:  n_k * W(k) - C(k)

where C is XLA's count (every body once) and n_k the trip count (1 for a call). A loop whose
trip count XLA does not know is counted once, and named in `unknown_trips`.

The byte count is XLA's: each fused operation's operands and results, as if nothing stayed in
cache between fusions (lra/roofline.py). JAX exposes the analysis of a module only through its
internal modules (`jax._src.lib`); where a JAX release does not, `counts` gives None and says so.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import jax

try:  # JAX's internal modules: the HLO module parser and the cost analysis of a module
    from jax._src.lib import hlo as _hlo
    from jax._src.lib import xla_client as _xc

    _analyse = _xc._xla.hlo_module_cost_analysis
    _from_text = _hlo.hlo_module_from_text
except (ImportError, AttributeError):  # a JAX without them: no counts (module docstring)
    _analyse = _from_text = None

UNAVAILABLE = "this JAX does not expose XLA's cost analysis of the program's HLO module"

# A computation's header in HLO text, `%name (params) -> shape {` (ENTRY before the entry's);
# a while's body and trip count, and a call's callee, within an instruction's line.
_HEADER = re.compile(r"^(ENTRY )?%?([\w.\-]+) \(.*\{$")
_WHILE = re.compile(r" while\(.*\bbody=%?([\w.\-]+)")
_TRIPS = re.compile(r'"known_trip_count":\{"n":"(\d+)"\}')
_CALL = re.compile(r" call\(.*\bto_apply=%?([\w.\-]+)")
_NAMED = re.compile(r"%([\w.\-]+)")  # a name an instruction refers to
_FUSED = re.compile(r"\bcalls=%?([\w.\-]+)")  # a fusion's (or an async op's) computation
# An instruction's definition, `%name = f32[8,2048]{1,0} ...`, and an FFT's operand and lengths,
# `fft(%operand), fft_type=RFFT, fft_length={2048}`.
DEFINED = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (\w+)\[([\d,]*)\]")
FFT = re.compile(r" fft\(%?([\w.\-]+)\).*fft_length=\{([\d,]+)\}")
_ITEM_BYTES = {"pred": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2, "bf16": 2, "s32": 4,
               "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16}


def computations(text: str) -> tuple[str, dict[str, list[str]]]:
    """(the entry's name, each computation's instruction lines by name) of HLO module text."""
    entry, bodies, current = None, {}, None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            current = m.group(2)
            bodies[current] = []
            entry = current if m.group(1) else entry
        elif line == "}":
            current = None
        elif current is not None:
            bodies[current].append(line)
    return entry, bodies


def _callees(lines: list[str]) -> list[tuple[str, int | None]]:
    """(callee, trip count: None where unknown) of each loop and call among `lines`."""
    out = []
    for line in lines:
        loop, call = _WHILE.search(line), _CALL.search(line)
        if loop:
            trips = _TRIPS.search(line)
            out.append((loop.group(1), int(trips.group(1)) if trips else None))
        elif call:
            out.append((call.group(1), 1))
    return out


def _as_entry(text: str, name: str, bodies: dict[str, list[str]]) -> str:
    """A module of computation `name`, as its entry, and the computations it reaches, from the
    module's text: its lines before the first computation (metadata) and those computations, as
    the text has them. The header's entry layout, which is the old entry's, is dropped."""
    reached, todo = set(), [name]
    while todo:
        c = todo.pop()
        if c not in reached:
            reached.add(c)
            todo += [n for line in bodies[c] for n in _NAMED.findall(line) if n in bodies]
    out, keep = ["HloModule sub"], True
    for line in text.splitlines()[1:]:
        m = _HEADER.match(line)
        if m:
            keep = m.group(2) in reached
            line = ("ENTRY " if m.group(2) == name else "") + line.removeprefix("ENTRY ")
        if keep:
            out.append(line)
        keep = keep or line == "}"  # after a computation, until the next one's header
    return "\n".join(out)


def counts(compiled) -> dict[str, Any]:
    """{'flops', 'bytes_accessed': weighted counts (None where unavailable), 'fft_flops',
    'fft_bytes': their FFTs' part (`ffts`), 'bytes_by_part': where the bytes go (`by_part`,
    `largest`), 'unknown_trips': loops counted once, 'note': why there are no counts, where
    there are none} of a compiled program (module docstring)."""
    try:
        module = compiled.runtime_executable().hlo_modules()[0]
    except Exception:  # noqa: BLE001 - a backend without its modules: no counts, no failure
        module = None
    if _analyse is None or module is None:
        try:
            text = compiled.as_text()
        except Exception:  # noqa: BLE001 - nor HLO text: not even the FFTs
            text = None
        parsed = computations(text) if text else None  # parsed once for both
        return {"flops": None, "bytes_accessed": None, "unknown_trips": [], "note": UNAVAILABLE,
                **(ffts(text, *parsed) if parsed else {"fft_flops": None, "fft_bytes": None}),
                "bytes_by_part": largest(by_part(*parsed)) if parsed else None}
    return module_counts(module, module.to_string())


def module_counts(module, text: str) -> dict[str, Any]:
    """`counts` of an HLO module and its text."""
    try:  # the analysis reads the HLO, not the device: the CPU's client, where JAX has one
        client = jax.devices("cpu")[0].client
    except RuntimeError:  # JAX_PLATFORMS without cpu
        client = jax.devices()[0].client
    entry, bodies = computations(text)
    unknown: list[str] = []
    cost = {}  # C of each computation analysed: {'flops', 'bytes accessed'}

    def analysed(name: str) -> dict[str, float]:
        if name not in cost:
            cost[name] = _analyse(client, module if name == entry else
                                  _from_text(_as_entry(text, name, bodies)))
        return cost[name]

    def loops_below(name: str) -> bool:  # a loop (known trip count or not) among its callees
        return any(n != 1 or loops_below(k) for k, n in _callees(bodies.get(name, [])))

    def weighted(name: str) -> tuple[float, float]:
        c = analysed(name)
        flops, moved = c.get("flops", 0.0), c.get("bytes accessed", 0.0)
        for callee, trips in _callees(bodies.get(name, [])):
            if trips is None:
                unknown.append(callee)
            if (trips or 1) == 1 and not loops_below(callee):
                continue  # counted once by XLA, as it runs
            inner, once = weighted(callee), analysed(callee)
            flops += (trips or 1) * inner[0] - once.get("flops", 0.0)
            moved += (trips or 1) * inner[1] - once.get("bytes accessed", 0.0)
        return flops, moved

    flops, moved = weighted(entry)
    return {"flops": flops, "bytes_accessed": moved, **ffts(text, entry, bodies),
            "bytes_by_part": largest(by_part(entry, bodies)), "unknown_trips": unknown}


def ffts(text: str, entry: str, bodies: dict[str, list[str]]) -> dict[str, float]:
    """{'fft_flops', 'fft_bytes'}: the part of the counts that the program's FFTs make, as
    XLA counts an FFT (HloCostAnalysis::HandleFft: 8 x the product of log2 of its lengths x its
    operand's elements; its operand's and result's bytes), each FFT as many times as its
    computation runs."""
    shapes = {m.group(1): (m.group(2), m.group(3))
              for m in map(DEFINED.match, text.splitlines()) if m}
    flops = moved = 0.0
    for name, times in _runs(entry, bodies).items():
        for line in bodies[name]:
            fft = FFT.search(line)
            if not fft:
                continue
            (kind, dims), result = shapes[fft.group(1)], shapes[DEFINED.match(line).group(1)]
            log_n = math.prod(int(n).bit_length() - 1 for n in fft.group(2).split(","))
            flops += times * 8 * log_n * _elements(dims)
            moved += times * sum(_ITEM_BYTES.get(k, 4) * _elements(d)
                                 for k, d in ((kind, dims), result))
    return {"fft_flops": flops, "fft_bytes": moved}


def _elements(dims: str) -> int:
    return math.prod(int(d) for d in dims.split(",") if d)


def _runs(entry: str, bodies: dict[str, list[str]]) -> dict[str, int]:
    """How many times each computation runs per run of the entry: its loops' trip counts (1
    where unknown) multiplied down through loops, calls and fusions."""
    runs: dict[str, int] = {}

    def visit(name: str, times: int) -> None:
        runs[name] = runs.get(name, 0) + times
        for line in bodies.get(name, []):
            fused = _FUSED.search(line)
            for callee, n in _callees([line]) or ([(fused.group(1), 1)] if fused else []):
                visit(callee, times * (n or 1))

    visit(entry, 1)
    return runs


# Where in the model a step's bytes are moved: each instruction's source, as JAX writes it into
# the instruction's metadata, e.g. op_name="jit(train_step)/transpose(jvp(SequenceClassifier))/
# backbone/block_3/S4D_0/jit(fft)/fft" (the step, the backward pass, the Flax modules' path, the
# helper, the primitive).
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_OPERATION = re.compile(r"^\s*(ROOT )?%?([\w.\-]+) = (.*?) ([a-z][\w\-]*)\(([^)]*)\)")
_PARAMETER = re.compile(r" parameter\((\d+)\)")
_ARRAY = re.compile(rf"\b({'|'.join(_ITEM_BYTES)})\[([\d,]*)\]")  # an array type: f32[8,2048]
# Instructions that move no data of their own: names for parts of arrays, and control flow,
# whose bodies are counted where their instructions are.
_NO_TRAFFIC = {"parameter", "get-tuple-element", "tuple", "constant", "bitcast", "while", "call",
               "conditional", "after-all", "partition-id", "replica-id"}
_AD = re.compile(r"^(?:(?:transpose|jvp|vmap|remat|checkpoint)\()+")  # the transforms
# What JAX names in a path that is no module: its loops, calls and recomputed functions.
_JAX_NAMES = {"while", "body", "cond", "closed_call", "core_call", "checkpoint", "remat", "remat2",
              "rematted_computation", "scan", "custom_jvp_call", "custom_vjp_call", "pjit",
              "shard_map"}
_LAYER = re.compile(r"^(block|layers)_\d+$")  # one of the model's stacked layers (sequence.py)
NO_SOURCE = "(no source)"  # what XLA made with no source in JAX: copies of loops' carries, ...


def part(op_name: str) -> tuple[str, str]:
    """(part, primitive) of an instruction's op_name: the Flax modules' path with each stacked
    layer's index folded (block_3 -> block_*), after ' backward' where it is the backward pass;
    and the primitive, the path's last name."""
    names = op_name.split("/")
    backward = any(n.startswith("transpose(") for n in names)
    path: list[str] = []
    for n in names[:-1]:
        n = _AD.sub("", n).rstrip(")")  # transpose(jvp(SequenceClassifier)) -> SequenceClassifier
        if not n or n.startswith("jit(") or n in _JAX_NAMES or "." in n:
            continue  # the step, helpers (jit(fft)), JAX's loops and Flax's lifted functions
        n = "block_*" if _LAYER.match(n) else n
        path = path[:path.index(n)] if n in path else path  # a scope entered again (remat)
        path.append(n)
    return ("/".join(path) or "(step)") + (" backward" if backward else ""), names[-1]


@dataclasses.dataclass(frozen=True)
class _Op:
    """One HLO instruction: its opcode, its operands' names, its result's bytes, its line, and
    whether it is its computation's result (ROOT)."""

    kind: str
    operands: tuple[str, ...]
    size: int
    line: str
    root: bool


def _instructions(bodies: dict[str, list[str]]) -> dict[str, dict[str, _Op]]:
    """Each computation's instructions by name."""
    out: dict[str, dict[str, _Op]] = {}
    for name, lines in bodies.items():
        out[name] = {}
        for line in lines:
            m = _OPERATION.match(line)
            if m:
                root, op, result, kind, operands = m.groups()
                size = sum(_ITEM_BYTES[k] * _elements(d) for k, d in _ARRAY.findall(result))
                out[name][op] = _Op(kind, tuple(_NAMED.findall(operands)), size, line,
                                    root is not None)
    return out


_READS_PART = {"slice", "dynamic-slice", "gather"}  # of their first operand: what they return


def _moved(op: _Op, ops: dict[str, _Op], fused: dict[str, _Op] | None) -> int:
    """The bytes an instruction outside fusions moves: its operands and its results, but of an
    operand only sliced, the slices (a loop reading its step's part of the inputs), and of one
    updated in place (dynamic-update-slice: a loop writing its step's part of the outputs), only
    the update, read and written. fused: a fusion's computation (None for another op)."""
    if fused is None:  # an op outside fusions: as if a fusion of it alone, its operands its own
        fused = {**{n: ops[n] for n in op.operands if n in ops}, "": op}
        params = list(op.operands)
    else:
        params = [n for n, f in fused.items() if f.kind == "parameter"]
        params.sort(key=lambda n: int(_PARAMETER.search(fused[n].line).group(1)))
    root = next((f for f in fused.values() if f.root), op)
    outputs = [fused.get(n, op) for n in root.operands] if root.kind == "tuple" else [root]
    moved = sum(fused[o.operands[1]].size if o.kind == "dynamic-update-slice" and o.operands[1]
                in fused else o.size for o in outputs)
    for name, param in zip(op.operands, params, strict=False):  # as many, in HLO
        users = [f for f in fused.values() if param in f.operands] or [op]
        if all(u.kind in _READS_PART and u.operands[0] == param for u in users):
            moved += sum(u.size for u in users)
        elif not all(u.kind == "dynamic-update-slice" and u.operands[0] == param for u in users):
            moved += ops[name].size if name in ops else 0
    return moved


def by_part(entry: str, bodies: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """{part: {primitive: bytes}} of an HLO module (its `computations`), each part's bytes per
    run of the program, largest part first.

    Each instruction outside fusions (a fusion, an FFT, a library call, a copy ...) moves what
    `_moved` says, as many times as its computation runs (its loops' trip counts): XLA's rule
    for a fusion, without all the refinements of its cost analysis. The parts add up to within a
    few percent of `counts`' bytes (tests/lra/test_hlo_cost.py), which are the figure to quote;
    the parts say where those go."""
    instructions, runs = _instructions(bodies), _runs(entry, bodies)
    inner = {m.group(1) for lines in bodies.values() for line in lines
             for m in [_FUSED.search(line)] if m}  # fusions' (and async ops') computations
    out: dict[str, dict[str, float]] = {}
    for name, ops in instructions.items():
        if name in inner or name not in runs:
            continue
        for op in ops.values():
            if op.kind in _NO_TRAFFIC:
                continue
            called = _FUSED.search(op.line)
            fused = instructions.get(called.group(1)) if called and op.kind == "fusion" else None
            source = _OP_NAME.search(op.line) or (called and _source(instructions.get(
                called.group(1), {})))  # a fusion made once for several places names it inside
            where, primitive = part(source.group(1)) if source else (NO_SOURCE, op.kind)
            by = out.setdefault(where, {})
            by[primitive] = by.get(primitive, 0.0) + runs[name] * _moved(op, ops, fused)
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1].values())))


def _source(ops: dict[str, _Op]):
    """The op_name match of a computation's root, else of its first instruction that has one."""
    lines = sorted(ops.values(), key=lambda o: not o.root)
    return next((m for m in (_OP_NAME.search(o.line) for o in lines) if m), None)


def largest(parts: dict[str, dict[str, float]], n: int = 8, ops: int = 3) -> list[dict]:
    """The n parts of `by_part` that move the most, each {'part', 'bytes', 'ops': its `ops`
    largest primitives' bytes}, then {'part': 'other', 'bytes': the rest} where there is a rest."""
    rows = [{"part": p, "bytes": sum(by.values()),
             "ops": dict(sorted(by.items(), key=lambda kv: -kv[1])[:ops])}
            for p, by in parts.items()]
    rest = sum(r["bytes"] for r in rows[n:])
    return rows[:n] + ([{"part": "other", "bytes": rest}] if rows[n:] else [])
