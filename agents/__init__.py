"""scenegym.agents: training and sampling of generation policies (stable-baselines3).

Nothing is exported yet; the generation policy, its training and the baselines land here.
"""

__all__: list[str] = []
