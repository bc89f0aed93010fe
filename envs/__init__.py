"""rewardlab's environment suite (installed as ``rewardlab_envs``).

Each module registers Gymnasium envs with their reward factors, the factors' directions and the
ground truth written through them. ``rewardlab`` finds this package through the
``rewardlab.suite`` entry point; importing it registers every env.

- :mod:`rewardlab_envs.classic`: CartPole-v1, Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0,
  and a fixed-horizon CartPole for reward learning (no termination, reward 1 while balanced).
- :mod:`rewardlab_envs.locomotion`: HalfCheetah-v5 and Hopper-v5 (MuJoCo).
- :mod:`rewardlab_envs.gridworld`: tabular gridworlds (a slippery cliff walk, a random maze) that
  also export their exact MDP (``SuiteEnv.tabular``) for the exact metrics.
- :mod:`rewardlab_envs.tomato`: a tomato-watering gridworld whose sensor (the proxy reward) is
  fooled by standing on a bucket, with its exact MDP: reward hacking computed exactly.
"""

from rewardlab_envs import classic, gridworld, locomotion, tomato

__all__ = ["classic", "gridworld", "locomotion", "tomato"]
