"""ModelSpec -> nn.Module, one row at a time, with the per-layer table.

The builder knows no block by name: it asks the registry for the block class, binds and
scales the arguments generically, and runs a probe tensor through each new row so that any
shape problem is reported against the row that causes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paretonas.errors import ModelConfigError, env_ceiling
from paretonas.models.blocks._base import ArgError, ArgKind, Block, make_divisible
from paretonas.models.registry import get_block
from paretonas.models.spec import ModelSpec

DEFAULT_INPUT_SIZE = (224, 224)
# Ceilings checked before anything is allocated (each row is first built and probed on the
# meta device, which records shapes and no data): a typo such as width_multiple: 1000000 or
# a repeat of 10**9 is refused in milliseconds instead of exhausting memory or hanging. A
# model meant to be bigger raises them through the environment (every step, Snakemake jobs
# included, reads it): PARETONAS_MAX_PARAMS, PARETONAS_MAX_ACTIVATION_MIB, PARETONAS_MAX_REPEAT.
MAX_PARAMS = 500_000_000  # ~2 GB of float32 weights
MAX_ACTIVATION_BYTES = 1 << 30  # one sample's largest feature map (float32)
MAX_REPEAT = 1000  # blocks in one row after depth_multiple
_RANK_NAMES = {4: "N x C x H x W", 2: "N x F (flattened)"}
_logger = logging.getLogger(__name__)
_WARNED: set[tuple] = set()


@dataclass(frozen=True)
class LayerInfo:
    """One row of the per-layer table, as built."""

    index: int
    repeat: int
    module: str
    args: dict[str, Any]
    params: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


class Model(nn.Sequential):
    """The built network: one child per backbone row; carries the spec that built it."""

    def __init__(
        self,
        rows: list[nn.Module],
        spec: ModelSpec,
        layers: list[LayerInfo],
        input_shape: tuple[int, int, int],
    ) -> None:
        super().__init__(*rows)
        self.spec = spec
        self.layers = layers
        self.input_shape = input_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].out_shape


def scale_repeat(repeat: int, depth_multiple: float) -> int:
    """``max(round(repeat * depth_multiple), 1)`` for repeat > 1; a single block stays single."""
    return max(round(repeat * depth_multiple), 1) if repeat > 1 else repeat


def scale_args(block: type[Block], args: Mapping[str, Any], width_multiple: float) -> dict:
    """Scale every channel argument: ``make_divisible(c * width_multiple, 8)``."""
    return {
        arg.name: make_divisible(args[arg.name] * width_multiple, 8)
        if arg.kind is ArgKind.CHANNELS
        else args[arg.name]
        for arg in block.args
    }


def _input_size(spec: ModelSpec, input_size: int | tuple[int, int] | None) -> tuple[int, int]:
    if input_size is None:
        return spec.input_size or DEFAULT_INPUT_SIZE
    if isinstance(input_size, int):
        return (input_size, input_size)
    return (int(input_size[0]), int(input_size[1]))


def build_model(spec: ModelSpec, input_size: int | tuple[int, int] | None = None) -> Model:
    """Build the network ``spec`` describes for inputs of ``input_size`` (H, W).

    ``input_size`` defaults to the spec's ``input_size``, else 224x224. Raises
    ModelConfigError naming the file, row and key for anything that cannot work.
    """
    height, width = _input_size(spec, input_size)
    if height < 1 or width < 1:
        raise ModelConfigError(
            f"{spec.source}: input size {height}x{width}: expected positive height and width"
        )
    input_shape = (spec.input_channel, height, width)
    _check_size(spec, (height, width))
    probe = torch.zeros(1, *input_shape)
    rows: list[nn.Module] = []
    layers: list[LayerInfo] = []
    for index, row in enumerate(spec.backbone):
        block = get_block(row.module)
        args = scale_args(block, spec.bound_args(index), spec.width_multiple)
        repeat = scale_repeat(row.repeat, spec.depth_multiple)
        in_shape = tuple(probe.shape[1:])
        _check_rank(spec, index, block, in_shape)
        modules = []
        for step in range(repeat):
            step_args = args if step == 0 else block.repeat_args(args)
            _warn_kernel_larger_than_map(spec, index, step_args, tuple(probe.shape[1:]))
            module = _build_one(spec, index, block, tuple(probe.shape[1:]), step_args)
            probe = _probe(spec, index, block, module, probe, step_args, (height, width))
            modules.append(module)
        row_module = modules[0] if repeat == 1 else nn.Sequential(*modules)
        rows.append(row_module)
        layers.append(
            LayerInfo(
                index=index,
                repeat=repeat,
                module=row.module,
                args=args,
                params=sum(p.numel() for p in row_module.parameters()),
                in_shape=in_shape,
                out_shape=tuple(probe.shape[1:]),
            )
        )
    model = Model(rows, spec, layers, input_shape)
    model.train()
    return model


def _check_size(spec: ModelSpec, size: tuple[int, int]) -> None:
    """Refuse, before allocating anything, a model past ``MAX_REPEAT`` blocks in a row,
    ``MAX_PARAMS`` parameters or ``MAX_ACTIVATION_BYTES`` in one feature map: every row is
    built and probed on the meta device (shapes only, no memory)."""
    max_params = env_ceiling("PARETONAS_MAX_PARAMS", MAX_PARAMS, ModelConfigError)
    max_activation = (
        env_ceiling("PARETONAS_MAX_ACTIVATION_MIB", MAX_ACTIVATION_BYTES >> 20, ModelConfigError)
        << 20
    )
    max_repeat = env_ceiling("PARETONAS_MAX_REPEAT", MAX_REPEAT, ModelConfigError)
    probe = torch.empty(1, spec.input_channel, *size, device="meta")
    total = 0
    for index, row in enumerate(spec.backbone):
        block = get_block(row.module)
        args = scale_args(block, spec.bound_args(index), spec.width_multiple)
        repeat = scale_repeat(row.repeat, spec.depth_multiple)
        if repeat > max_repeat:
            raise ModelConfigError(
                f"{spec.where(index)}: repeat {repeat} (after depth_multiple "
                f"{spec.depth_multiple}) exceeds the ceiling of {max_repeat} blocks in a row "
                "($PARETONAS_MAX_REPEAT)"
            )
        _check_rank(spec, index, block, tuple(probe.shape[1:]))
        for step in range(repeat):
            step_args = args if step == 0 else block.repeat_args(args)
            params, probe = _meta_row(spec, index, block, probe, step_args)
            if probe is None:  # an op the meta device lacks: the real build checks the rest
                return
            total += params
            if total > max_params:
                raise ModelConfigError(
                    f"{spec.where(index)}: the model reaches {total:,} parameters here, past "
                    f"the ceiling of {max_params:,} ($PARETONAS_MAX_PARAMS; width_multiple "
                    f"{spec.width_multiple}, depth_multiple {spec.depth_multiple}); nothing "
                    "was allocated"
                )
            activation = probe.numel() * 4
            if activation > max_activation:
                raise ModelConfigError(
                    f"{spec.where(index)}: one sample's output {tuple(probe.shape[1:])} takes "
                    f"{activation / 2**30:.1f} GiB, past the ceiling of "
                    f"{max_activation / 2**30:.2g} GiB ($PARETONAS_MAX_ACTIVATION_MIB; input "
                    f"size {size[0]}x{size[1]}); nothing was allocated"
                )


def _meta_row(
    spec: ModelSpec, index: int, block: type[Block], probe: torch.Tensor, args: dict
) -> tuple[int, torch.Tensor | None]:
    """One block built and run on the meta device: its parameter count and output (None
    when the meta device cannot run it; a bad argument raises the row's error)."""
    with torch.device("meta"):
        module = _build_one(spec, index, block, tuple(probe.shape[1:]), args)
    params = sum(p.numel() for p in module.parameters())
    module.eval()
    try:
        with torch.no_grad():
            return params, module(probe)
    except (NotImplementedError, RuntimeError, ValueError):
        return params, None


def _warn_kernel_larger_than_map(
    spec: ModelSpec, index: int, args: Mapping[str, Any], in_shape: tuple
) -> None:
    kernel = args.get("kernel_size")
    if len(in_shape) != 3 or not isinstance(kernel, int) or isinstance(kernel, bool):
        return
    key = (index, kernel, tuple(in_shape[1:]))
    if kernel > min(in_shape[1:]) and key not in _WARNED:
        _WARNED.add(key)  # once per row, kernel and map size in a process: a search's
        # workers build hundreds of models and say it a handful of times
        _logger.warning(
            "%s: kernel_size %d is larger than its %dx%d input map (mostly padding)",
            spec.where(index),
            kernel,
            in_shape[1],
            in_shape[2],
        )


def _check_rank(spec: ModelSpec, index: int, block: type[Block], in_shape: tuple) -> None:
    rank = len(in_shape) + 1
    if block.input_rank is None or block.input_rank == rank:
        return
    hint = (
        "; add GlobalAvgPool and Flatten (or Flatten) before it"
        if block.input_rank == 2
        else "; convolutional blocks must come before Flatten"
    )
    raise ModelConfigError(
        f"{spec.where(index)}: needs a {_RANK_NAMES[block.input_rank]} input but gets "
        f"{_RANK_NAMES.get(rank, f'{rank}-D')} of shape {(1, *in_shape)}{hint}"
    )


def _build_one(
    spec: ModelSpec, index: int, block: type[Block], in_shape: tuple, args: dict
) -> nn.Module:
    try:
        block.check(in_shape[0], args)
        return block.build(in_shape[0], args)
    except ArgError as exc:
        key = f"{exc.key}: " if exc.key else ""
        raise ModelConfigError(f"{spec.where(index)}: {key}{exc.message}") from None
    except (RuntimeError, ValueError) as exc:
        raise ModelConfigError(f"{spec.where(index)}: cannot build with {args}: {exc}") from None


def _probe(
    spec: ModelSpec,
    index: int,
    block: type[Block],
    module: nn.Module,
    probe: torch.Tensor,
    args: dict,
    size: tuple[int, int],
) -> torch.Tensor:
    """Run the probe through one new module; shape failures become the row's error."""
    in_shape = tuple(probe.shape[1:])
    module.eval()
    try:
        with torch.no_grad():
            out = module(probe)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ModelConfigError(
            f"{spec.where(index)}: cannot apply to an input of shape {(1, *in_shape)} "
            f"(input size {size[0]}x{size[1]}): {reason}"
        ) from None
    if any(dim == 0 for dim in out.shape):
        raise ModelConfigError(
            f"{spec.where(index)}: output shape {tuple(out.shape)} is empty at input size "
            f"{size[0]}x{size[1]}: too much downsampling (stride/pooling) for this input"
        )
    declared = block.out_channels(in_shape, args)
    if out.shape[1] != declared:  # a bug in the block, not in the user's YAML
        raise RuntimeError(
            f"block {block.name} declares {declared} output channels but produced {out.shape[1]}"
        )
    return out


def format_layer_table(model: Model) -> str:
    """The per-layer table the course's parser logged: index, repeat, params, module, args,
    channels and output shape."""
    header = (
        f"{'idx':>3} | {'n':>2} | {'params':>10} | {'module':<18} | {'in -> out':>13} | "
        f"{'output shape':<18} | arguments"
    )
    lines = [header, "-" * len(header)]
    for layer in model.layers:
        args = ", ".join(f"{k}={v}" for k, v in layer.args.items())
        channels = f"{layer.in_shape[0]} -> {layer.out_shape[0]}"
        shape = "x".join(str(d) for d in layer.out_shape)
        lines.append(
            f"{layer.index:>3} | {layer.repeat:>2} | {layer.params:>10,} | {layer.module:<18} | "
            f"{channels:>13} | {shape:<18} | {args}"
        )
    return "\n".join(lines)
