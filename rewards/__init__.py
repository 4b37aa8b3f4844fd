"""scenegym.rewards: reward terms and the evaluation metrics they share.

Nothing is exported yet; realism, novelty, coverage and goal terms land here.
"""

__all__: list[str] = []
