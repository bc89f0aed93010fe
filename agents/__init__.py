"""Stable-Baselines3 hyperparameter presets for rewardlab, stored as TOML.

This folder (installed as the ``rewardlab_agents`` package) holds one TOML file
per algorithm (``ppo.toml``, ``sac.toml``, ``dqn.toml``, ``a2c.toml``, ``td3.toml``,
``ddpg.toml``). Each file has a ``[default]`` table plus one table per suite
environment that overrides it.
The files are data only; ``rewardlab.agents`` reads them through
``importlib.resources``.
"""
