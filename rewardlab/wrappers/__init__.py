"""Gymnasium wrappers that swap an env's reward, their SB3 vector twins, and building suite envs.

Owns :class:`SwapReward` (replaces the reward with a rewardlab reward function and keeps the env's
own reward and every term in ``info["rewardlab"]``), :class:`DropObsDims` (hides observation dims
that the reward needs but the agent should not see), their vector twins in :mod:`.vector`, and
:func:`make_env` / :func:`make_vec_env`. A VecEnv built here records its suite env and reward
function (in its vector :class:`~rewardlab.wrappers.vector.SwapReward`, which also hides the dims);
read them back with :func:`suite_env_of` and :func:`reward_function_of`.

Layer: above :mod:`rewardlab.rewards`; imports nothing higher.
"""

from __future__ import annotations

from rewardlab.wrappers._make import RewardLike, make_env, make_vec_env, reward_function_of, suite_env_of
from rewardlab.wrappers._single import DropObsDims, SwapReward

__all__ = ["DropObsDims", "RewardLike", "SwapReward", "make_env", "make_vec_env", "reward_function_of", "suite_env_of"]
