"""At an episode end the reward sees the true final observation and the termination flag.

A scripted env makes every value predictable: its observation is ``[step, episode]``; episode 0
terminates at step 3, later episodes are truncated by the time limit at step 4. The reward
factor ``next_step`` is ``next_obs[:, 0]``, so the reward of a terminal step is the terminal
step index (3 or 4), never the 0 of the reset observation that SB3 returns in its place. The
potential ``step_plus_one`` = ``obs[:, 0] + 1`` tells termination from truncation: with
``gamma = 0.5`` shaping adds ``-Phi(s)`` on a termination and ``0.5 Phi(s') - Phi(s)`` otherwise.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rewardlab as rl
from rewardlab import suite

GYM_ID = "RewardlabTests/ScriptedSteps-v0"
SUITE_NAME = "rewardlab_tests_scripted_steps"
ENV_REWARD = -1.0
GAMMA = 0.5


class ScriptedStepsEnv(gym.Env):
    """Observation ``[step, episode]``; episode 0 terminates at step 3 (later ones hit the time limit)."""

    observation_space = gym.spaces.Box(0.0, 100.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self._episode = -1
        self._step = 0

    def _obs(self) -> np.ndarray:
        return np.array([self._step, self._episode], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._episode += 1
        self._step = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._step += 1
        terminated = self._episode == 0 and self._step == 3
        return self._obs(), ENV_REWARD, terminated, False, {}


if GYM_ID not in gym.registry:
    gym.register(id=GYM_ID, entry_point=ScriptedStepsEnv, max_episode_steps=4)

SCRIPTED = suite.SuiteEnv(
    name=SUITE_NAME,
    gym_id=GYM_ID,
    description="Scripted [step, episode] observations for wrapper tests.",
    factors=(suite.Factor("next_step", lambda o, a, n, d: np.asarray(n[:, 0], dtype=np.float64), True, "step after"),),
    potentials={"step_plus_one": lambda o: np.asarray(o[:, 0], dtype=np.float64) + 1.0},
)


@pytest.fixture
def scripted_env(request: pytest.FixtureRequest) -> suite.SuiteEnv:
    """The scripted env, in the suite for this test only (so env-wide tests never see it)."""
    env = suite.register(SCRIPTED, overwrite=True)
    # suite has no public unregister; drop the entry so suite.names() stays the built-in suite.
    request.addfinalizer(lambda: suite._REGISTRY.pop(SUITE_NAME, None))
    return env


# Per step of the script: (obs the agent gets, true final obs or None, done, truncated,
# next_step factor, shaping term).
STEPS = [
    ([1, 0], None, False, False, 1.0, GAMMA * 2 - 1),
    ([2, 0], None, False, False, 2.0, GAMMA * 3 - 2),
    ([0, 1], [3, 0], True, False, 3.0, -3.0),  # terminated: Phi(s') = 0
    ([1, 1], None, False, False, 1.0, GAMMA * 2 - 1),
    ([2, 1], None, False, False, 2.0, GAMMA * 3 - 2),
    ([3, 1], None, False, False, 3.0, GAMMA * 4 - 3),
    ([0, 2], [4, 1], True, True, 4.0, GAMMA * 5 - 4),  # truncated: Phi(s') kept
    ([1, 2], None, False, False, 1.0, GAMMA * 2 - 1),
    ([2, 2], None, False, False, 2.0, GAMMA * 3 - 2),
    ([3, 2], None, False, False, 3.0, GAMMA * 4 - 3),
    ([0, 3], [4, 2], True, True, 4.0, GAMMA * 5 - 4),
]

SPECS = {
    "terms": rl.rewards.Terms({"next_step": 1.0}),
    "shaped": rl.rewards.Shaped(base=rl.rewards.Terms({"next_step": 1.0}), potential="step_plus_one", gamma=GAMMA),
}
WRAPPERS = ["vector", "single"]


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=WRAPPERS)
@pytest.mark.parametrize("kind", list(SPECS), ids=list(SPECS))
def test_reward_at_episode_end_uses_terminal_observation_and_termination_flag(
    scripted_env: suite.SuiteEnv, kind: str, wrapper: str
) -> None:
    shaped = kind == "shaped"
    venv = rl.make_vec_env(scripted_env.name, SPECS[kind], n_envs=1, wrapper=wrapper)
    np.testing.assert_array_equal(venv.reset(), [[0, 0]])

    for t, (obs, final, done, truncated, next_step, shaping) in enumerate(STEPS, start=1):
        got_obs, rewards, dones, infos = venv.step(np.array([0]))
        info = infos[0]
        np.testing.assert_array_equal(got_obs, [obs], err_msg=f"step {t}")
        assert bool(dones[0]) is done, f"step {t}"
        expected = next_step + shaping if shaped else next_step
        np.testing.assert_allclose(rewards, [expected], rtol=0, atol=1e-6, err_msg=f"step {t}")
        terms = info["rewardlab"]["terms"]
        assert terms["next_step"] == next_step, f"step {t}"
        if shaped:
            assert terms["shaping"] == pytest.approx(shaping), f"step {t}"
        else:
            assert "shaping" not in terms
        assert info["rewardlab"]["env_reward"] == ENV_REWARD
        if done:
            np.testing.assert_array_equal(info["terminal_observation"], final, err_msg=f"step {t}")
            assert info["TimeLimit.truncated"] is truncated, f"step {t}"
        else:
            assert "episode" not in info["rewardlab"], f"step {t}"
    venv.close()


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=WRAPPERS)
@pytest.mark.parametrize("kind", list(SPECS), ids=list(SPECS))
def test_episode_summary_has_length_and_returns_of_the_finished_episode(
    scripted_env: suite.SuiteEnv, kind: str, wrapper: str
) -> None:
    shaped = kind == "shaped"
    venv = rl.make_vec_env(scripted_env.name, SPECS[kind], n_envs=1, wrapper=wrapper)
    venv.reset()
    summaries = []
    monitor = []
    for _ in STEPS:
        _, _, dones, infos = venv.step(np.array([0]))
        if dones[0]:
            summaries.append(infos[0]["rewardlab"]["episode"])
            monitor.append(infos[0]["episode"])
    venv.close()

    # Split the script into its three episodes and sum each by hand.
    bounds = [0] + [i + 1 for i, row in enumerate(STEPS) if row[2]]
    assert len(summaries) == len(bounds) - 1 == 3
    for k, (start, stop) in enumerate(itertools.pairwise(bounds)):
        rows = STEPS[start:stop]
        next_step = sum(row[4] for row in rows)
        shaping = sum(row[5] for row in rows)
        proxy = next_step + shaping if shaped else next_step
        s = summaries[k]
        assert s["length"] == len(rows) == (3 if k == 0 else 4)
        assert s["proxy_return"] == pytest.approx(proxy)
        assert s["env_return"] == pytest.approx(ENV_REWARD * len(rows))
        assert s["terms"]["next_step"] == pytest.approx(next_step)
        if shaped:
            assert s["terms"]["shaping"] == pytest.approx(shaping)
        # SB3's VecMonitor sees the proxy reward, so its return is the proxy return too.
        assert monitor[k]["l"] == len(rows)
        assert monitor[k]["r"] == pytest.approx(proxy, abs=1e-5)
