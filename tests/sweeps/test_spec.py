"""Sweep specs: validation that names the field and value, ablation generation, trials, fast preset."""

from __future__ import annotations

from pathlib import Path

import pytest
from _trial_helpers import TINY_PPO, UPRIGHT, tiny_spec

from rewardlab.errors import ConfigError, SpecError, UnknownNameError
from rewardlab.rewards import Env, Term, Terms
from rewardlab.sweeps import Ablation, SweepSpec, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]
# Pendulum-v1's reward, written independently of the suite: -(θ² + 0.1 θ'² + 0.001 u²).
PENDULUM_GT = {"angle_cost": -1.0, "velocity_cost": -0.1, "torque_cost": -0.001}


def _pendulum(**over):
    data = {"name": "p", "envs": ["pendulum"], "agents": {"sac": {}}, "variants": {"truth": {"kind": "env"}}}
    data.update(over)
    return SweepSpec.from_dict(data)


def test_trials_are_the_full_grid_with_paired_seeds():
    spec = tiny_spec(seeds=[3, 5, 7], agents={"ppo": dict(TINY_PPO), "ppo_big": {**TINY_PPO, "algo": "ppo"}})
    trials = spec.trials()
    assert len(trials) == 1 * 2 * 2 * 3
    assert trials[0].id == "cartpole__truth__ppo__s3"
    assert len({t.id for t in trials}) == len(trials)
    for variant in ("truth", "upright"):
        for agent in ("ppo", "ppo_big"):
            assert [t.seed for t in trials if t.variant == variant and t.agent == agent] == [3, 5, 7]
    big = next(t for t in trials if t.agent == "ppo_big")
    assert big.algo == "ppo" and "algo" not in big.hyperparams
    assert next(t for t in trials if t.variant == "upright").reward == UPRIGHT


def test_leave_one_out_drops_each_ground_truth_term():
    spec = _pendulum(ablations=[{"kind": "leave_one_out", "base": "ground_truth"}])
    got = {k: v for k, v in spec.variants_for("pendulum").items() if k != "truth"}
    want = {f"minus_{drop}": Terms({k: w for k, w in PENDULUM_GT.items() if k != drop}) for drop in PENDULUM_GT}
    assert got == want


def test_leave_one_out_from_an_env_variant_and_with_a_prefix_keeps_transforms():
    base = Terms({"angle_cost": Term(weight=-1.0, clip=(0.0, 4.0)), "torque_cost": -0.001})
    spec = _pendulum(variants={"truth": Env(), "clipped": base}, ablations=[Ablation("leave_one_out", "clipped", "c_")])
    got = spec.variants_for("pendulum")
    assert got["c_minus_torque_cost"] == Terms({"angle_cost": Term(weight=-1.0, clip=(0.0, 4.0))})
    assert got["c_minus_angle_cost"] == Terms({"torque_cost": -0.001})
    spec = _pendulum(ablations=[{"kind": "leave_one_out", "base": "truth"}])  # kind env: its ground truth
    assert spec.variants_for("pendulum")["minus_angle_cost"] == Terms({"velocity_cost": -0.1, "torque_cost": -0.001})


def test_add_one_adds_missing_ground_truth_terms_or_the_given_ones():
    nov = {"kind": "terms", "weights": {"angle_cost": -1.0}}
    spec = _pendulum(variants={"nov": nov}, ablations=[{"kind": "add_one", "base": "nov"}])
    got = spec.variants_for("pendulum")
    assert set(got) == {"nov", "plus_velocity_cost", "plus_torque_cost"}
    assert got["plus_velocity_cost"] == Terms({"angle_cost": -1.0, "velocity_cost": -0.1})
    spec = _pendulum(
        variants={"nov": nov}, ablations=[{"kind": "add_one", "base": "nov", "weights": {"velocity_cost": -0.5}}]
    )
    assert spec.variants_for("pendulum")["plus_velocity_cost"] == Terms({"angle_cost": -1.0, "velocity_cost": -0.5})


def test_weight_grid_names_say_the_factor_applied_to_the_base_weight():
    # the base's velocity weight is -0.1: -0.01 is a tenth of it, -1 ten times it, 0.1 its sign flipped
    ab = {"kind": "weight_grid", "base": "ground_truth", "term": "velocity_cost", "values": [-0.01, -1, -2.5, 0.1, 0]}
    got = _pendulum(ablations=[ab]).variants_for("pendulum")
    assert set(got) == {
        "truth",
        "velocity_cost_x0.1",
        "velocity_cost_x10",
        "velocity_cost_x25",
        "velocity_cost_x-1",
        "velocity_cost_x0",
    }
    assert got["velocity_cost_x25"] == Terms({**PENDULUM_GT, "velocity_cost": -2.5})
    assert got["velocity_cost_x-1"] == Terms({**PENDULUM_GT, "velocity_cost": 0.1})
    # a term the base lacks has no weight to multiply: the name gives the weight set
    nov = {"kind": "terms", "weights": {"angle_cost": -1.0}}
    ab = {"kind": "weight_grid", "base": "nov", "term": "velocity_cost", "values": [-0.5]}
    spec = _pendulum(variants={"nov": nov}, ablations=[ab])
    assert set(spec.variants_for("pendulum")) == {"nov", "velocity_cost_w-0.5"}
    assert spec.legacy_names("pendulum") == {"velocity_cost_w-0.5": "velocity_cost_x-0.5"}


@pytest.mark.parametrize("path", sorted((ROOT / "sweeps").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_sweep_loads_in_full_and_fast(path: Path) -> None:
    spec, fast = load_sweep(path), load_sweep(path, fast=True)
    assert spec.name == path.stem and spec.envs and spec.seeds
    assert len(fast.seeds) <= len(spec.seeds)


def test_the_demo_sweep_names_its_reweighted_velocity_cost_ten_times():
    spec = load_sweep(ROOT / "sweeps" / "pendulum_ablation.toml")
    assert "velocity_cost_x10" in spec.variants_for("pendulum")
    assert spec.variants_for("pendulum")["velocity_cost_x10"] == Terms({**PENDULUM_GT, "velocity_cost": -1.0})
    assert spec.legacy_names("pendulum") == {"velocity_cost_x10": "velocity_cost_x-1"}


def test_spec_round_trips_through_to_dict():
    spec = _pendulum(
        seeds=[0, 4],
        timesteps=500,
        ablations=[{"kind": "weight_grid", "base": "ground_truth", "term": "torque_cost", "values": [-0.1]}],
        fast={"timesteps": 10},
    )
    again = SweepSpec.from_dict(spec.to_dict())
    assert again == spec
    assert [t.to_dict() for t in again.trials(check=False)] == [t.to_dict() for t in spec.trials(check=False)]


def test_baseline_defaults_to_the_env_variant():
    assert tiny_spec().baseline == "truth"
    assert tiny_spec(variants={"upright": UPRIGHT}).baseline is None
    assert tiny_spec(baseline="upright").baseline == "upright"


def test_fast_preset_shrinks_the_budget():
    spec = load_sweep(ROOT / "sweeps" / "pendulum_ablation.toml")
    fast = load_sweep(ROOT / "sweeps" / "pendulum_ablation.toml", fast=True)
    assert fast.timesteps < spec.timesteps and len(fast.seeds) <= len(spec.seeds)
    assert fast.fast == {} and fast.agents["sac"]["learning_starts"] <= fast.timesteps
    assert len(fast.trials()) < len(spec.trials())
    default = tiny_spec(timesteps=5000).fast_version()  # no [fast] table: the default preset
    assert default.timesteps == 1000 and default.eval_episodes == 2


@pytest.mark.parametrize(
    ("over", "error", "match"),
    [
        ({"envs": ["cartpol"]}, UnknownNameError, r"`envs\[0\]`.*Did you mean 'cartpole'"),
        ({"envs": "cartpole"}, ConfigError, r"`envs` must be a non-empty list"),
        ({"seeds": [0, -1]}, ConfigError, r"`seeds\[1\]` must be a non-negative integer \(got -1\)"),
        ({"seeds": [1, 1]}, ConfigError, r"`seeds` must be distinct seeds \(got \[1, 1\]\)"),
        ({"seeds": []}, ConfigError, r"`seeds` must be a non-empty list"),
        ({"seeds": ["0"]}, ConfigError, r"`seeds\[0\]`.*\(got '0'\)"),
        ({"timesteps": 0}, ConfigError, r"`timesteps` must be a positive integer"),
        ({"name": "a__b"}, ConfigError, r"`name` must be a name.*\(got 'a__b'\)"),
        (
            {"variants": {"bad": {"kind": "terms", "weights": {"alive": "x"}}}},
            SpecError,
            r"variants\.bad\.weights\.alive",
        ),
        ({"variants": {"bad": {"kind": "trems"}}}, UnknownNameError, r"`variants\.bad\.kind`.*Did you mean 'terms'"),
        ({"agents": {"ppq": {}}}, ConfigError, r"`agents` must be an SB3 algorithm name \(got 'ppq'\).*'ppo'"),
        ({"seedz": [0]}, ConfigError, r"`seedz` must be a known sweep field.*'seeds'"),
        ({"baseline": "truht"}, ConfigError, r"`baseline` must be a variant name \(got 'truht'\).*'truth'"),
        ({"fast": {"timestep": 1}}, ConfigError, r"`fast\.timestep`.*'timesteps'"),
        ({"ablations": [{"kind": "leave_one_in"}]}, ConfigError, r"`ablations\[0\]\.kind`.*'leave_one_out'"),
        ({"ablations": [{"kind": "weight_grid", "term": "alive"}]}, ConfigError, r"`ablations\[0\]\.values`"),
        ({"ablations": [{"kind": "leave_one_out", "base": "nope"}]}, ConfigError, r"`ablations\[0\]\.base`.*'nope'"),
        (
            {"variants": {"truth": {"kind": "env"}, "upright": UPRIGHT}, "ablations": [{"kind": "add_one"}]},
            ConfigError,
            r"`ablations\[0\]\.weights` must be terms to add",  # cartpole's ground truth has no other term
        ),
    ],
    ids=lambda v: str(v)[:40] if not isinstance(v, type) else v.__name__,
)
def test_invalid_specs_name_the_field_and_value(over, error, match):
    with pytest.raises(error, match=match):
        tiny_spec(**over)


def test_ablation_base_must_be_a_terms_reward():
    shaped = {"kind": "shaped", "potential": "upright", "base": {"kind": "env"}}
    with pytest.raises(ConfigError, match=r"`ablations\[0\]\.base` must be a variant of kind 'terms' or 'env'"):
        tiny_spec(variants={"sh": shaped}, ablations=[{"kind": "leave_one_out", "base": "sh"}])


def test_duplicate_variant_names_are_rejected():
    twice = [{"name": "a", "kind": "env"}, {"name": "a", **UPRIGHT}]
    with pytest.raises(ConfigError, match=r"`variants\[1\]\.name` must be unique among the variants \(got 'a'\)"):
        tiny_spec(variants=twice)
    clash = {"truth": {"kind": "env"}, "minus_alive": UPRIGHT}
    with pytest.raises(ConfigError, match=r"`ablations\[0\]`.*\(got 'minus_alive'\).*prefix"):
        tiny_spec(variants=clash, ablations=[{"kind": "leave_one_out", "base": "minus_alive"}])


def test_trials_check_reports_every_bad_trial_at_once(tmp_path):
    spec = tiny_spec(
        variants={"ok": {"kind": "env"}, "v1": {"kind": "terms", "weights": {"angle_cost": -1.0}}},
        agents={"ppo": {**TINY_PPO, "n_stepz": 3}},
    )
    with pytest.raises(ConfigError, match=r"2 trial\(s\)") as info:
        spec.trials()
    text = str(info.value)
    assert "cartpole__ok__ppo: `hyperparameter` must be" in text and "'n_steps'" in text
    assert "cartpole__v1__ppo" in text
    with pytest.raises(ConfigError, match="cannot run"):
        run_sweep(spec, runs_dir=tmp_path, progress=False)
    assert not (tmp_path / "tiny").exists()  # nothing ran, nothing was written


def test_unknown_factor_names_the_trial_and_the_factor():
    spec = tiny_spec(variants={"v": {"kind": "terms", "weights": {"pole_angel": -1.0}}})
    with pytest.raises(ConfigError, match=r"cartpole__v__ppo: .*'pole_angel'.*Did you mean 'pole_angle'"):
        spec.trials()


def test_load_sweep_reports_a_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="readable TOML file"):
        load_sweep(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_sweep(bad)
