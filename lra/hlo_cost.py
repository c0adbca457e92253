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
_ITEM_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "c64": 8, "c128": 16}


def _computations(text: str) -> tuple[str, dict[str, list[str]]]:
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
    'fft_bytes': their FFTs' part (`ffts`), 'unknown_trips': loops counted once, 'note': why
    there are no counts, where there are none} of a compiled program (module docstring)."""
    try:
        module = compiled.runtime_executable().hlo_modules()[0]
    except Exception:  # noqa: BLE001 - a backend without its modules: no counts, no failure
        module = None
    if _analyse is None or module is None:
        try:
            text = compiled.as_text()
        except Exception:  # noqa: BLE001 - nor HLO text: not even the FFTs
            text = None
        return {"flops": None, "bytes_accessed": None, "unknown_trips": [], "note": UNAVAILABLE,
                **(ffts(text, *_computations(text)) if text else
                   {"fft_flops": None, "fft_bytes": None})}
    return module_counts(module, module.to_string())


def module_counts(module, text: str) -> dict[str, Any]:
    """`counts` of an HLO module and its text."""
    try:  # the analysis reads the HLO, not the device: the CPU's client, where JAX has one
        client = jax.devices("cpu")[0].client
    except RuntimeError:  # JAX_PLATFORMS without cpu
        client = jax.devices()[0].client
    entry, bodies = _computations(text)
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
            "unknown_trips": unknown}


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
