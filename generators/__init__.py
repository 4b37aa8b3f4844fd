"""scenegym.generators: learned generative models of scenes and pictures (PyTorch).

May import ``scenegym.scene`` and the utilities. torch loads on first use of a name below.

- Scene priors: ``ScenePrior`` (a VAE or GAN over the lane grid), ``PriorConfig``,
  ``fit_prior``, ``cached_prior``, ``plot_history``.
- The appearance model: ``AppearanceModel`` (semantic map to picture, pix2pix-style),
  ``AppearanceConfig``, ``fit_appearance``, ``read_pairs``.
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "PriorConfig": "prior",
    "ScenePrior": "prior",
    "cached_prior": "prior",
    "fit_prior": "prior",
    "plot_history": "prior",
    "AppearanceConfig": "appearance",
    "AppearanceModel": "appearance",
    "fit_appearance": "appearance",
    "read_pairs": "appearance",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
