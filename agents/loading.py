"""Loading a run's SB3 model zips (``model.zip``, checkpoints) without unpickling anything.

SB3 stores some fields of a model's ``data`` JSON cloudpickled (the policy class, the spaces,
the schedules, the last observation); unpickling them runs whatever code the file names, so a
shared run folder could run code on the machine that opens it. ``load_model`` reads the JSON
itself and hands SB3 every such field rebuilt from the run's own config instead
(``custom_objects``), so SB3 unpickles none. A zip with a pickled field scenegym cannot
rebuild is refused. The weights (``*.pth``) SB3 reads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from gymnasium import spaces

from scenegym.agents.runs import TrainConfig, algorithm_class

__all__ = ["load_model", "pickled_fields", "saved_data"]

_RESET_ON_LEARN = ("_last_obs", "_last_episode_starts", "_last_original_obs")
"""Fields SB3 fills again when training starts (``None``: reset the environments)."""

_BUFFERS = ("ep_info_buffer", "ep_success_buffer")
"""Episode statistics, made again (empty) when training starts."""

_FROM_PLAIN_VALUES = (
    "lr_schedule",
    "rollout_buffer_class",
    "replay_buffer_class",
    "exploration_schedule",
)
"""Fields the algorithm's ``_setup_model`` builds from plain ones (the learning rate, the
observation space) when they are ``None``."""


def pickled_fields(source: str | os.PathLike | bytes) -> list[str]:
    """The names of the fields of an SB3 zip's ``data`` that SB3 would unpickle, read without
    unpickling. ``ValueError`` naming the file when it is no SB3 zip."""
    return _pickled(saved_data(source))


def _pickled(data: dict[str, Any]) -> list[str]:
    return [key for key, item in data.items() if isinstance(item, dict) and ":serialized:" in item]


def _recorded_space(data: dict[str, Any], key: str, space: spaces.Space) -> str | None:
    """What the file records of a space (beside the pickle, as text) where it differs from
    ``space``, else None. SB3 writes a space's shape as ``_shape`` (and a ``Discrete``'s size
    as ``n``)."""
    recorded = data.get(key)
    if not isinstance(recorded, dict):
        return None
    for attribute in ("_shape", "n"):
        if attribute in recorded and hasattr(space, attribute):
            value = getattr(space, attribute)
            mine = json.loads(json.dumps(value, default=int))  # a tuple as a list, numpy ints
            if recorded[attribute] not in (mine, str(value)):
                return f"{attribute.strip('_')} {recorded[attribute]}"
    return None


def load_model(
    config: TrainConfig,
    source: str | os.PathLike | bytes,
    *,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    env: Any = None,
    fields: dict[str, Any] | None = None,
    algorithm: type | None = None,
):
    """The SB3 model saved in ``source`` (a path or the zip's bytes) by a run of ``config``,
    whose environments have ``observation_space`` and ``action_space``; with ``env``, ready
    to train on. Nothing in the file is unpickled: every pickled field is rebuilt from
    ``config`` and the spaces, and a file with any other pickled field is refused.
    ``config`` is a ``TrainConfig`` or any config naming ``algorithm`` and ``net_arch`` the
    same way (a curriculum's); ``fields`` adds rebuilt fields of other algorithms (DQN's
    ``train_freq``); ``algorithm`` replaces the SB3 class the config names (a subclass of
    it, such as the curriculum's ``ReplayOnlyPPO``).

    Raises:
        ValueError: naming the file and what is wrong with it: not an SB3 zip, a pickled
            field scenegym does not rebuild, or weights that do not fit ``config``.
    """
    name = "the model" if isinstance(source, bytes) else str(source)
    algorithm = algorithm or algorithm_class(config)
    rebuilt = _rebuilt_fields(config, algorithm, observation_space, action_space)
    rebuilt |= fields or {}
    data = saved_data(source)
    for what, space in (("observation", observation_space), ("action", action_space)):
        recorded = _recorded_space(data, f"{what}_space", space)
        if recorded is not None:
            raise ValueError(
                f"the run's environment has an {what} space {space} that is not the model's "
                f"({recorded}) in {name}; was the config changed after training?"
            )
    foreign = [key for key in _pickled(data) if key not in rebuilt]
    if foreign:
        raise ValueError(
            f"cannot load the model {name}: it holds pickled fields scenegym does not load "
            f"({', '.join(foreign[:3])}), and unpickling them could run code; use a model "
            "trained by scenegym train"
        )
    try:
        return algorithm.load(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            env=env,
            device="cpu",
            custom_objects=rebuilt,
        )
    except Exception as error:  # SB3 raises many kinds for a damaged zip
        raise ValueError(f"cannot load the model {name}: {_first_line(error)}") from None


def _rebuilt_fields(config, algorithm, observation_space, action_space) -> dict[str, Any]:
    """Every field of a saved model SB3 would unpickle, made from ``config`` and the spaces."""
    policy = "MultiInputPolicy" if isinstance(observation_space, spaces.Dict) else "MlpPolicy"
    defaults = inspect.signature(algorithm).parameters
    fields: dict[str, Any] = {
        "policy_class": algorithm.policy_aliases[policy],
        "policy_kwargs": {"net_arch": list(config.net_arch)},
        "observation_space": observation_space,
        "action_space": action_space,
    }
    if "clip_range" in defaults:  # scenegym trains PPO with the default
        fields["clip_range"] = defaults["clip_range"].default
    fields |= dict.fromkeys(_RESET_ON_LEARN + _BUFFERS + _FROM_PLAIN_VALUES)
    return fields


def saved_data(source: str | os.PathLike | bytes) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 zip, parsed (nothing unpickled); ``ValueError`` naming
    the file when it is no readable SB3 zip."""
    name = "the model" if isinstance(source, bytes) else str(source)
    try:
        opened = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        with zipfile.ZipFile(opened) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RecursionError) as error:
        raise ValueError(
            f"cannot load the model {name}: it is not a readable SB3 model zip "
            f"({_first_line(error)}); train it again or copy it whole"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f"cannot load the model {name}: its data is no JSON object; train it again"
        )
    return data


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
