"""The run's plan: how many generator and critic updates its epochs and max_steps add up to.

The progress bar needs a total before the first step, and WGAN's critic warm-up (100 critic
steps per generator step at first) makes the count more than k per generator step, so the plan
runs the loop's stopping rule over the critic-step schedule alone.
"""

from __future__ import annotations

from collections.abc import Callable

from gankit.config import TrainConfig

# planned_steps looks this many generator steps ahead at most (a bar without a total beyond).
PLAN_LIMIT = 1_000_000


def planned_steps(train: TrainConfig, g_steps: int, d_steps: int, batches_per_epoch: int,
                  critic_steps: Callable[[int], int]) -> tuple[int, int] | None:
    """(generator, discriminator) updates at the end of the run, counting from (g_steps,
    d_steps): the loop's `done()` rule with `critic_steps(g)` real minibatches per generator
    step. None when the end is more than PLAN_LIMIT generator steps away."""
    g, d = g_steps, d_steps
    d_end = train.epochs * batches_per_epoch
    while not ((train.max_steps and g >= train.max_steps) or (train.epochs and d >= d_end)):
        if g - g_steps >= PLAN_LIMIT:
            return None
        d += critic_steps(g)
        g += 1
    return g, d


def warmup_text(plan: tuple[int, int] | None, g_steps: int, d_steps: int, k: int,
                loss: str) -> str | None:
    """One line on the critic steps a warm-up adds to the planned run, or None."""
    if plan is None:
        return None
    g, d = plan[0] - g_steps, plan[1] - d_steps
    extra = d - k * g
    if extra <= 0:
        return None
    how = "; losses.wgan_warmup=false turns it off" if loss == "wgan" else ""
    return (f"critic warm-up: {extra:,} critic steps on top of k = {k} per generator step "
            f"for the {g:,} generator steps to go ({d:,} critic steps in all, counted by the "
            f"progress bar){how}")
