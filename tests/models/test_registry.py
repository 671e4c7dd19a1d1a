from __future__ import annotations

import pytest

from paretonas.models import Block, get_block, list_blocks, register_block
from paretonas.models.registry import _REGISTRY

COURSE_BLOCKS = {
    "Conv",
    "DWConv",
    "Bottleneck",
    "InvertedResidualv2",
    "InvertedResidualv3",
    "Fire",
    "MaxPool",
    "AvgPool",
    "GlobalAvgPool",
    "Flatten",
    "Dropout",
    "Linear",
    "Pass",
}


def test_every_course_block_is_registered():
    assert set(list_blocks()) >= COURSE_BLOCKS


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered under the name 'Conv'"):

        @register_block("Conv")
        class Another(Block):
            pass

    assert get_block("Conv").__module__ == "paretonas.models.blocks.conv"


def test_new_block_registers_and_unknown_name_raises():
    @register_block("_TestOnly")
    class TestOnly(Block):
        pass

    try:
        assert get_block("_TestOnly") is TestOnly
        assert TestOnly.name == "_TestOnly"
    finally:
        del _REGISTRY["_TestOnly"]
    with pytest.raises(KeyError):
        get_block("_TestOnly")
