"""The ``table`` reward kind: validation, TOML round trip, lookups in the env, the shipped design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.errors import SpecError, UnknownNameError
from rewardlab.rewards import Table

REPO = Path(__file__).resolve().parents[2]

STATE_ACTION = Table(
    env="cliffworld", entries=[{"state": 23, "action": 2, "value": 10.0}, {"state": 3, "action": 1, "value": -1.5}]
)
NEXT_STATE = Table(on="next_state", entries=[{"state": 31, "value": 9.0}, {"state": 25, "value": -4}])


@pytest.mark.parametrize(
    "spec", [STATE_ACTION, NEXT_STATE, Table(env="maze")], ids=["state-action", "next-state", "empty"]
)
def test_table_round_trips_through_toml(spec, tmp_path):
    import tomli_w

    path = tmp_path / "reward.toml"
    path.write_text(tomli_w.dumps(spec.to_dict()))
    assert rl.rewards.load(path) == spec


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (
            {"entries": [{"state": 1, "value": 1.0}]},
            SpecError,
            r"`entries\[0\].action` must be present when on = 'state_action'",
        ),
        (
            {"on": "next_state", "entries": [{"state": 1, "action": 0, "value": 1.0}]},
            SpecError,
            r"`entries\[0\].action` must be absent when on = 'next_state' \(got 0\)",
        ),
        (
            {"entries": [{"state": 1, "action": 0, "value": 1.0}, {"state": 1, "action": 0, "value": 2.0}]},
            SpecError,
            r"`entries\[1\]` must be listed once \(got \(1, 0\)\)",
        ),
        (
            {"entries": [{"state": -2, "action": 0, "value": 1.0}]},
            SpecError,
            r"`entries\[0\].state` must be a non-negative",
        ),
        ({"entries": [{"state": 1, "action": 0, "value": "big"}]}, SpecError, r"`entries\[0\].value` must be a number"),
        ({"on": "state"}, UnknownNameError, r"`on` must be what a table entry pays for \(got 'state'\)\. Did you mean"),
        ({"entry": []}, SpecError, r"`reward.entry` must be a known field .*Did you mean 'entries'"),
    ],
    ids=["action-missing", "action-extra", "duplicate", "negative-state", "value", "on", "unknown-key"],
)
def test_invalid_tables_name_the_field(data, error, match):
    with pytest.raises(error, match=match):
        rl.rewards.from_dict({"kind": "table", **data})


def test_building_checks_the_env_and_the_indices():
    with pytest.raises(SpecError, match=r"`reward.env` must be the env the reward is built on \('maze'\)"):
        STATE_ACTION.build("maze")
    with pytest.raises(SpecError, match=r"`env` must be an env with an exact tabular model .*'cliffworld', 'maze'"):
        Table().build("pendulum")
    with pytest.raises(SpecError, match=r"`entries\[0\].state` must be a state index below 32 \(got 40\)"):
        Table(entries=[{"state": 40, "action": 0, "value": 1.0}]).build("cliffworld")


def test_state_action_entries_pay_on_the_pair_whatever_the_next_state():
    model = rl.metrics.tabular_model("cliffworld")
    table = rl.metrics.reward_table(STATE_ACTION, "cliffworld")
    assert np.all(table[23, 2] == 10.0) and np.all(table[3, 1] == -1.5)
    assert np.count_nonzero(table) == 2 * model.mdp.n_states


def test_next_state_entries_pay_on_entering_and_never_in_absorbing_states():
    model = rl.metrics.tabular_model("cliffworld")
    table = rl.metrics.reward_table(NEXT_STATE, "cliffworld")
    live = ~model.terminal
    assert np.all(table[live][:, :, 31] == 9.0) and np.all(table[live][:, :, 25] == -4.0)
    assert not table[model.terminal].any()  # the episode is over in a terminal state


def test_wrapped_env_pays_the_table_and_keeps_the_env_reward():
    env = rl.make_env("cliffworld", reward=NEXT_STATE)
    _, info = env.reset(seed=0)
    values = NEXT_STATE.values(32, 4)
    for action in [1, 0, 1, 1, 2, 2, 3, 1, 1, 1]:
        _, reward, terminated, _, info = env.step(action)
        assert reward == values[info["state"]]
        assert "env_reward" in info["rewardlab"]
        if terminated:
            break
    env.close()


def test_observations_that_are_no_state_of_the_model_are_refused():
    fn = STATE_ACTION.build("cliffworld")
    obs = np.zeros((1, 32), dtype=np.float32)  # no cell marked
    with pytest.raises(SpecError, match=r"`obs` must be the observation of a state of the exact model"):
        fn(obs, np.array([0]), obs, np.array([False]))


def test_describe_words_the_entries():
    assert STATE_ACTION.describe() == ["in state 23, action 2: +10", "in state 3, action 1: -1.5"]
    assert NEXT_STATE.describe(state_names=[f"s{i}" for i in range(32)]) == ["entering s31: +9", "entering s25: -4"]


def test_the_shipped_cliffworld_design_is_what_the_cli_example_writes():
    shipped = rl.rewards.load(REPO / "rewards" / "cliffworld_exprd.toml")
    from rewardlab.design import explicable

    design = explicable("cliffworld", budget=6)
    assert [(e.state, e.action) for e in shipped.entries] == [(e.state, e.action) for e in design.spec.entries]
    np.testing.assert_allclose([e.value for e in shipped.entries], [e.value for e in design.spec.entries], rtol=1e-6)
    mdp = rl.metrics.tabular_model("cliffworld").mdp
    assert rl.metrics.regret(rl.rewards.Env(), shipped, mdp) == 0.0
