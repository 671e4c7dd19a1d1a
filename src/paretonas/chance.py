"""What "learned nothing" means for a study's scores, and what to do about it.

Guessing by the class priors scores a macro-F1 of ``1 / classes`` whatever the class balance
(each class's precision and recall are both its prior), and always answering the majority
class scores less. So ``1 / classes`` is the chance level of every F1 here. A finalist must
clear it by a margin: ``select.min_f1``, by default ``chance + 0.2 x (1 - chance)`` (0.28 for
10 classes, 0.33 for 6, 0.6 for 2).
"""

from __future__ import annotations

import math

MARGIN = 0.2  # of the way from chance to a perfect score

ADVICE = (
    "train longer (a larger hparams.steps, or hparams.epochs), give the search more images "
    "(data.search_fraction, or more data per class), widen or lower the learning-rate range "
    "(hparams lr), and check that the labels are right (a class per folder)"
)


def proportion_se(score: float, n: int) -> float:
    """The standard error of ``score`` read as a proportion over ``n`` samples, Agresti-Coull
    adjusted (never 0, not even for a perfect score): the floor of an F1's noise."""
    adjusted = (score * n + 2) / (n + 4)
    return math.sqrt(adjusted * (1 - adjusted) / (n + 4))


def chance_f1(num_classes: int) -> float:
    """Macro-F1 of guessing by the class priors."""
    return 1.0 / max(num_classes, 1)


def default_min_f1(num_classes: int) -> float:
    """The F1 a finalist must reach by default: ``MARGIN`` of the way from chance to 1."""
    chance = chance_f1(num_classes)
    return chance + MARGIN * (1.0 - chance)


def learned_nothing(best_f1: float, se: float, num_classes: int) -> bool:
    """The best F1 is within two standard errors of chance (or below it)."""
    return best_f1 - 2.0 * se <= chance_f1(num_classes)


def nothing_learned_message(best_f1: float, se: float, num_classes: int) -> str:
    chance = chance_f1(num_classes)
    return (
        f"the search has learned almost nothing: the best validation F1 is {best_f1:.3f} "
        f"(± {se:.3f}), chance for {num_classes} classes is {chance:.3f}. To do: {ADVICE}"
    )
