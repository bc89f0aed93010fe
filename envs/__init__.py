"""rewardlab's environment suite (installed as ``rewardlab_envs``).

Each module registers Gymnasium envs with their reward factors, the factors' directions and the
ground truth written through them. ``rewardlab`` finds this package through the
``rewardlab.suite`` entry point; importing it registers every env.

- :mod:`rewardlab_envs.classic`: CartPole-v1, Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0.
- :mod:`rewardlab_envs.locomotion`: HalfCheetah-v5 and Hopper-v5 (MuJoCo).
"""

from rewardlab_envs import classic, locomotion

__all__ = ["classic", "locomotion"]
