"""`paretonas model-info`: the per-layer table and the costs of a model YAML."""

from __future__ import annotations

import argparse
import json

from paretonas.errors import ConfigError
from paretonas.models import (
    ModelSpec,
    build_model,
    count_params,
    estimate_latency_ms,
    format_layer_table,
    forward_counts,
    measure_latency,
)

NAME = "model-info"
HELP = "build a model YAML; print its per-layer table, parameters, MACs and CPU latency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="model YAML (course format)")
    parser.add_argument(
        "--img-size",
        type=int,
        default=None,
        help="input height and width (default: the YAML's input_size, else 224)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    parser.add_argument(
        "--rounds", type=int, default=60, help="timed rounds of ~2 ms for latency (>= 20)"
    )


def run(args: argparse.Namespace) -> int:
    if args.rounds < 20:
        raise ConfigError(f"--rounds: expected at least 20 timed rounds, got {args.rounds}")
    if args.img_size is not None and args.img_size < 1:
        raise ConfigError(f"--img-size: expected a positive number of pixels, got {args.img_size}")
    spec = ModelSpec.from_yaml(args.path)
    model = build_model(spec, args.img_size)
    params = count_params(model)
    counts = forward_counts(model, model.input_shape)
    macs = counts.macs
    latency = None if args.no_latency else measure_latency(model, model.input_shape, args.rounds)
    if args.json:
        print(
            json.dumps(
                {
                    "path": args.path,
                    "input_shape": list(model.input_shape),
                    "output_shape": list(model.output_shape),
                    "params": params,
                    "macs": macs,
                    "latency_ms": latency and latency.ms,
                    "latency": latency and latency.to_dict(),
                    "latency_estimate_ms": estimate_latency_ms(counts),
                    "layers": [
                        {
                            "index": layer.index,
                            "repeat": layer.repeat,
                            "module": layer.module,
                            "args": layer.args,
                            "params": layer.params,
                            "in_shape": list(layer.in_shape),
                            "out_shape": list(layer.out_shape),
                        }
                        for layer in model.layers
                    ],
                }
            )
        )
        return 0
    print(format_layer_table(model))
    print()
    print(f"input      {'x'.join(map(str, model.input_shape))}")
    print(f"output     {'x'.join(map(str, model.output_shape))}")
    print(f"params     {params:,}")
    print(f"MACs       {macs:,} ({macs / 1e6:.1f}M)")
    if latency:
        print(
            f"latency    {latency.ms:.3f} ms measured ({latency.method}; p5-p50 "
            f"{latency.low_ms:.3f}-{latency.high_ms:.3f} ms)"
        )
    print(f"estimate   {estimate_latency_ms(counts):.3f} ms (the search's latency estimate)")
    return 0
