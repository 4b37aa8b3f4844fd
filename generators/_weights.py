"""Files of trained networks, shared by scene priors and appearance models: JSON metadata,
safetensors weights (loading never unpickles) and Adam's state as flat tensors, so a fit
can be checkpointed and resumed without pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, remedy: str) -> Any:
    """The JSON in ``path``; ``ValueError`` naming the file (and ``remedy``) when it is
    missing or malformed."""
    if not path.is_file():
        raise ValueError(f"{path} is missing ({remedy})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def save_tensors(path: Path, tensors: dict[str, Any]) -> None:
    """Write ``tensors`` (name to torch tensor) as one safetensors file, atomically."""
    from safetensors.torch import save

    from scenegym._io import atomic_write_bytes

    data = {name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}
    atomic_write_bytes(path, save(data))


def load_tensors(path: Path, remedy: str, sha256: str | None = None) -> dict[str, Any]:
    """The tensors of a safetensors file; ``ValueError`` naming it when it is missing,
    unreadable, or (given ``sha256``, the hash its folder records) changed since it was
    written: safetensors holds no checksum of its own, so a flipped bit would load."""
    import hashlib

    from safetensors import SafetensorError
    from safetensors.torch import load

    if not path.is_file():
        raise ValueError(f"{path} is missing ({remedy})")
    data = path.read_bytes()
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error}); {remedy}") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(
            f"{path} is not the file its folder was written with (its SHA-256 differs from "
            f"the recorded one: damaged or replaced); {remedy}"
        )
    return tensors


def load_network(
    network: Any, tensors: dict[str, Any], path: Path, remedy: str, config: str = "config"
) -> None:
    """Load ``tensors`` (exactly the network's, by name and shape) into ``network``;
    ``ValueError`` naming ``path``, the ``config`` the network was built from and the first
    mismatch otherwise."""
    expected = dict(network.state_dict())
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        detail = (
            f"missing {missing[:3]}"
            if missing
            else f"unexpected {unexpected[:3]}"
            if unexpected
            else f"{wrong[0]} has shape {tuple(tensors[wrong[0]].shape)}, expected "
            f"{tuple(expected[wrong[0]].shape)}"
        )
        raise ValueError(f"{path} does not fit the network of its {config} ({detail}); {remedy}")
    network.load_state_dict(tensors)


def optimiser_tensors(optimiser: Any, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Adam's state as flat tensors (``<prefix>.<param>.<key>``) and JSON (the scalars)."""
    state = optimiser.state_dict()
    tensors, scalars = {}, {"param_groups": state["param_groups"], "steps": {}}
    for index, values in state["state"].items():
        for key, value in values.items():
            if key == "step":
                scalars["steps"][str(index)] = float(value)
            else:
                tensors[f"{prefix}.{index}.{key}"] = value
    return tensors, scalars


def restore_optimiser(optimiser: Any, tensors: dict[str, Any], scalars: dict[str, Any]) -> None:
    """Load the state written by ``optimiser_tensors`` back into ``optimiser``."""
    import torch

    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, step in scalars["steps"].items():
        state.setdefault(int(index), {})["step"] = torch.tensor(step)
    optimiser.load_state_dict({"state": state, "param_groups": scalars["param_groups"]})


DEVICE_OPTION: dict[str, Any] = {
    "help": "auto (CUDA when present), cpu or cuda",
    "choices": ("auto", "cpu", "cuda"),
}
"""Field metadata of a config's ``device`` (read by ``torch_device``)."""


def save_checkpoint(
    folder: Path, networks: dict[str, Any], optimisers: dict[str, Any], meta: dict[str, Any]
) -> None:
    """A training state in ``folder``: ``checkpoint.safetensors`` holds every network's
    weights (``<name>.<key>``) and the optimisers' tensors, ``checkpoint.json`` ``meta`` plus
    the optimisers' scalars (``"optimiser"``); ``load_checkpoint`` reads them back."""
    from scenegym._io import atomic_write_text

    tensors = {
        f"{name}.{key}": value
        for name, network in networks.items()
        for key, value in network.state_dict().items()
    }
    scalars = {}
    for prefix, optimiser in optimisers.items():
        opt_tensors, scalars[prefix] = optimiser_tensors(optimiser, prefix)
        tensors |= opt_tensors
    save_tensors(folder / "checkpoint.safetensors", tensors)
    atomic_write_text(folder / "checkpoint.json", json.dumps({**meta, "optimiser": scalars}) + "\n")


def load_checkpoint(
    folder: Path,
    networks: dict[str, Any],
    optimisers: dict[str, Any],
    state: dict[str, Any],
    device: Any,
    remedy: str,
) -> None:
    """Load the state ``save_checkpoint`` wrote into ``networks`` and ``optimisers`` (on
    ``device``); ``state`` is ``checkpoint.json``'s content."""
    path = folder / "checkpoint.safetensors"
    tensors = load_tensors(path, remedy)

    def part(prefix: str) -> dict[str, Any]:
        return {k: v.to(device) for k, v in tensors.items() if k.split(".")[0] == prefix}

    for name, network in networks.items():
        weights = {k[len(name) + 1 :]: v for k, v in part(name).items()}
        load_network(network, weights, path, remedy)
    for prefix, optimiser in optimisers.items():
        restore_optimiser(optimiser, part(prefix), state["optimiser"][prefix])


def torch_device(name: str):
    """The torch device of a config's ``device`` (auto: CUDA when torch sees it, else CPU)."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but torch sees no CUDA device; use auto or cpu"
        )
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def plot_curves(history: list[dict[str, float]], path: Path, title: str, ylabel: str) -> None:
    """Every value of ``history`` (one row per epoch) against the epoch, as a PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from scenegym._io import atomic_write_bytes

    keys = [key for key in history[0] if key not in ("epoch", "instance_noise")] if history else []
    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.subplots()
    epochs = [row["epoch"] for row in history]
    for key in keys:
        axes.plot(epochs, [row[key] for row in history], label=key)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if keys:
        axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())


def recorded_hash(meta: dict[str, Any]) -> str | None:
    """The SHA-256 of the weights a folder's JSON records (``weights_sha256``); None for a
    folder written before scenegym recorded it."""
    value = meta.get("weights_sha256")
    if value is not None and not isinstance(value, str):
        raise ValueError(f"weights_sha256 must be a hex string, got {value!r}")
    return value
