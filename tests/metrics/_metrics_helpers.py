"""Random tabular MDPs and reward transformations shared by the metrics tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from rewardlab.metrics import TabularMDP

# (seed, n_states, n_actions): small random MDPs for property tests.
CASES = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(2, 3))


def random_transitions(
    rng: np.random.Generator, n_states: int, n_actions: int, successors: int | None = None
) -> np.ndarray:
    """``(S, A, S)`` random τ; each (s, a) has ``successors`` next states (random 1..S when None)."""
    t = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            k = successors if successors is not None else int(rng.integers(1, n_states + 1))
            nxt = rng.choice(n_states, size=k, replace=False)
            t[s, a, nxt] = rng.random(k) + 0.05
    return t / t.sum(axis=2, keepdims=True)


def random_mdp(
    seed: int, n_states: int = 4, n_actions: int = 2, gamma: float | None = None, *, sparse: bool = False
) -> tuple[TabularMDP, np.random.Generator]:
    """A random MDP (γ in [0.5, 0.95], random μ₀ with full support) and the rng that made it."""
    rng = np.random.default_rng(seed)
    t = random_transitions(rng, n_states, n_actions)
    g = float(rng.uniform(0.5, 0.95)) if gamma is None else gamma
    mu0 = rng.random(n_states) + 0.1
    mu0 /= mu0.sum()
    transitions = sp.csr_matrix(t.reshape(n_states * n_actions, n_states)) if sparse else t
    return TabularMDP(transitions, gamma=g, initial=mu0), rng


def shape(reward: np.ndarray, phi: np.ndarray, gamma: float) -> np.ndarray:
    """Potential shaping ``R + γΦ(s') − Φ(s)`` of an ``(S, A, S)`` reward."""
    return reward + gamma * phi[None, None, :] - phi[:, None, None]


def redistribute(reward: np.ndarray, t: np.ndarray, rng: np.random.Generator, size: float = 3.0) -> np.ndarray:
    """An S'-redistribution of ``reward``: add ``Z − E_τ[Z]`` so that ``E_{S'~τ}[R']`` is unchanged.

    ``Z`` is arbitrary, so this also changes R freely on impossible transitions.
    """
    z = rng.normal(scale=size, size=reward.shape)
    return reward + z - np.einsum("sat,sat->sa", t, z)[:, :, None]
