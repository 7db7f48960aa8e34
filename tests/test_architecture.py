"""The shape the redesign promised, checked: no import circles, short files, a short loop."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

from conftest import REPO
from gankit.config.validate import OBJECTIVE_NAMES
from gankit.losses import Loss
from gankit.train import gan, loop, schedules, steps
from gankit.train.objectives import OBJECTIVES

SRC = REPO / "src" / "gankit"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the gankit modules it imports anywhere (lazy imports inside functions count)."""
    modules = {_module_name(f): f for f in SRC.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, file in modules.items():
        for node in ast.walk(ast.parse(file.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                found = resolve(target) if target.startswith("gankit") else None
                # A package's __init__ only re-exports: importing it is not an edge back.
                if found and found != name and modules[found].name != "__init__.py":
                    graph[name].add(found)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if not state.get(v) and (cycle := visit(v)):
                return cycle
        stack.pop()
        state[u] = 2
        return None

    for node in sorted(graph):
        if not state.get(node) and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_in_src():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_source_file_over_400_lines():
    long = {str(f.relative_to(SRC)): n for f in SRC.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 400}
    assert not long, f"split these files (one concept per file): {long}"


def code_lines(func: object) -> int:
    """Lines of code of a function: no docstring, comments or blank lines."""
    source = textwrap.dedent(inspect.getsource(func))
    tree = ast.parse(source)
    body = tree.body[0]
    doc = ast.get_docstring(body)
    lines = [ln.strip() for ln in source.splitlines()]
    count = sum(1 for ln in lines if ln and not ln.startswith("#"))
    return count - (len(doc.splitlines()) if doc else 0)


# Everything one plain GAN iteration (Algorithm 1, k = 1) calls, in gankit's own code.
PLAIN_ITERATION_PATH = [
    loop.Trainer.algorithm1_iteration, loop.Trainer.real_batch, loop.Trainer.clock,
    loop.Trainer.epoch_of, gan.GANObjective.critic_steps, gan.GANObjective.d_update,
    gan.GANObjective.g_update, gan.GANObjective.noise,
    gan.GANObjective._update_ema, Loss.critic_steps, Loss.critic_loss, Loss.after_critic_step,
    steps.discriminator_step, steps.discriminator_loss, steps.generator_step, steps.frozen,
    steps.topk_keep, steps.set_schedule, schedules.learning_rate, schedules.momentum,
]


def test_algorithm1_reads_like_the_paper():
    assert code_lines(loop.Trainer.algorithm1_iteration) <= 30
    total = sum(code_lines(f) for f in PLAIN_ITERATION_PATH)
    assert total <= 120, f"one plain GAN iteration runs through {total} lines of gankit code"


def test_objective_names_in_the_config_match_the_registry():
    # config cannot import the trainer (that would be a circle), so it keeps the names itself.
    assert tuple(OBJECTIVES) == OBJECTIVE_NAMES
