"""Every tensor -> numpy conversion in the product code goes through `.cpu()` first (issue 23).

Why a static test: this machine has no GPU, so a `.numpy()` on a CUDA tensor ("can't convert
cuda:0 device type tensor to numpy") would only show on a user's GPU. `.cpu()` on a CPU tensor is
a no-op, so requiring it everywhere costs nothing here and keeps `--device cuda` and
`--device-map auto` working. The scan walks the receiver of each `.numpy()` call (method calls
and subscripts, e.g. `x.double().cpu()[0].numpy()`) and looks for a `.cpu()` call in it.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tools", "agent", "ui")

# Sites in files another engineer is editing right now (issue 23 helper report): listed by
# file and expected count so the list cannot go stale silently. Empty this when they are fixed.
PENDING: dict[str, int] = {}


def _went_through_cpu(node: ast.AST) -> bool:
    """True when the receiver chain of a `.numpy()` contains a `.cpu()` call."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "cpu":
                return True
            node = node.func.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return False


def unsafe_numpy_calls(source: str) -> list[int]:
    """Line numbers of `.numpy()` calls whose receiver never went through `.cpu()`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "numpy" and not node.args):
            if not _went_through_cpu(node.func.value):
                lines.append(node.lineno)
    return sorted(lines)


def _scan() -> dict[str, list[int]]:
    found = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            bad = unsafe_numpy_calls(path.read_text(encoding="utf-8"))
            if bad:
                found[path.relative_to(ROOT).as_posix()] = bad
    return found


def test_the_scan_tells_safe_from_unsafe_conversions():
    unsafe = "a = t.numpy()\nb = t.double().numpy()\nc = f(t)[0].numpy()\nd = t.cpu\ne = t.cpu.numpy()\n"
    safe = ("a = t.cpu().numpy()\nb = t.double().cpu().numpy()\nc = t.detach().cpu()[0].float().numpy()\n"
            "d = torch.stack([x.cpu() for x in xs]).cpu().numpy()\ne = np.float32(1).item()\n")
    assert unsafe_numpy_calls(unsafe) == [1, 2, 3, 5]
    assert unsafe_numpy_calls(safe) == []


def test_every_numpy_conversion_in_the_product_goes_through_cpu():
    found = _scan()
    pending = {path: len(found.pop(path, [])) for path in PENDING}
    assert found == {}, f".numpy() without .cpu() (fails on a GPU tensor): {found}"
    stale = {path: n for path, n in pending.items() if n != PENDING[path]}
    assert not stale, f"PENDING is stale (fixed or new sites; update it): {stale}"
