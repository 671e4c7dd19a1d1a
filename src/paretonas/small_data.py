"""What ``paretonas init`` does differently for small data, where a search on few images
learns little per step and ranks noisily: augmentation in the space it writes, longer search
trials, and a longer retraining of the finalists (stopped early, the best epoch kept).
"""

from __future__ import annotations

import math
from typing import Any

from paretonas.search.calibrate import Calibration

# Small data: below this many full/train images a class on average, init turns augmentation
# on in the space it writes (random crops; flips too for colour images) and sizes the
# finalists' retraining to at least FINALIZE_MIN_STEPS steps (early stopping ends it sooner).
SMALL_DATA_PER_CLASS = 500
SMALL_SEARCH_EPOCHS = 30
SMALL_SEARCH_MIN_STEPS = 300
FINALIZE_MIN_STEPS = 1500
FINALIZE_EPOCHS_RANGE = (30, 300)
FINALIZE_SHARE = 0.3  # of --minutes, at most, for longer finalist retraining on small data


def is_small(splits: dict[str, int], classes: int) -> bool:
    """Under ``SMALL_DATA_PER_CLASS`` full/train images a class on average."""
    return splits["full/train"] < SMALL_DATA_PER_CLASS * classes


def small_data_augment(input_shape: tuple[int, ...]) -> dict[str, Any]:
    """The augmentation init writes into the space for small data: random crops of an eighth
    of the side (at least 2 px), and horizontal flips for colour images (photos and objects
    are mostly mirror-symmetric; gray ones are often digits or text, which are not)."""
    channels, height, width = input_shape
    return {
        "random_crop_padding": max(2, min(height, width) // 8),
        "horizontal_flip": channels == 3,
    }


def describe_augment(augment: Any) -> str:
    """``key value, ...`` of a fixed policy, for init's note."""
    if not isinstance(augment, dict) or not augment:
        return "as the space says"
    return ", ".join(f"{key} {value}" for key, value in augment.items())


def choose_finalize_epochs(
    calibration: Calibration,
    splits: dict[str, int],
    batch: float,
    default: int,
    k: int,
    cores: int,
    minutes: float,
) -> int:
    """Epochs of full/train for the finalists of small data: enough for
    ``FINALIZE_MIN_STEPS`` steps, within ``FINALIZE_EPOCHS_RANGE``, as many as
    ``FINALIZE_SHARE`` of ``minutes`` holds for ``k`` finalists and the baseline (in waves over
    ``cores``, each epoch trained and evaluated on full/val); never fewer than ``default``."""
    per_epoch = math.ceil(splits["full/train"] / batch)
    epoch_seconds = (
        per_epoch * calibration.step_seconds + splits["full/val"] * calibration.eval_image_seconds
    )
    waves = math.ceil((k + 1) / max(1, cores))
    affordable = math.floor(FINALIZE_SHARE * minutes * 60 / (waves * epoch_seconds))
    low, high = FINALIZE_EPOCHS_RANGE
    wanted = min(high, math.ceil(FINALIZE_MIN_STEPS / per_epoch), affordable)
    return max(default, low, wanted)
