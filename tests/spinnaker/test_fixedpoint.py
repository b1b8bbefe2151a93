"""Raw-integer primitives against the worked constants of spinnaker-numerics.md (§1, §3, §4)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker import synapses

INT32 = st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1)


def test_host_encoding_rounds_the_decimal_representation():
    assert fp.s1615(0.1) == 3277
    assert fp.encode_scalar(0.01, 16) == 655
    assert fp.s1615(-65.0) == -65 * 32768


def test_exp_tables_equal_the_library_tables():
    # Values listed in spinn_common's src/stdfix-exp.c.
    assert fp.EXP_HI[0] == 9708
    assert fp.EXP_HI[13] == 1 << 32
    assert fp.EXP_HI[23] == 94602950235157
    assert fp.EXP_HI[25] == 699026506411923
    assert fp.EXP_MID[1] == 260218914
    assert fp.EXP_MID[15] == 2613033936


def test_exp_saturates_and_flushes_at_the_library_limits():
    assert fp.expk(363409) == fp.INT32_MAX
    assert fp.expk(-340696) == 0
    assert fp.expulr(-340696) == 0
    assert fp.expuk(363409) == 0xFFFFFFFF


def test_expuk_of_zero_is_zero():
    assert fp.expuk(0) == 0


@given(st.integers(min_value=-300000, max_value=100000))
def test_expk_is_within_two_lsb_of_exp(n):
    assert abs(fp.expk(n) - math.exp(n / 32768) * 32768) <= 2


@given(INT32, INT32)
def test_mulk_floors_and_wraps(a, b):
    expected = ((a * b) >> 15) & 0xFFFFFFFF
    expected -= (1 << 32) if expected >= (1 << 31) else 0
    assert fp.mulk(a, b) == expected
    assert fp.mulk(np.array([a]), np.array([b]))[0] == expected


@given(INT32)
def test_array_wrap_equals_scalar_wrap(a):
    big = a * 7 + (1 << 33)
    assert fp.wrap32(np.array([big]))[0] == fp.wrap32(big)


def test_decay_floors_towards_minus_infinity():
    assert fp.decay_s1615(-1, 1 << 31) == -1
    assert fp.decay_s1615(1, 1 << 31) == 0


def test_kdivk_truncates():
    assert fp.kdivk(fp.s1615(1.0), fp.s1615(5.0)) == 6553  # 0.19998, not 0.2


def test_roundk_rounds_half_up():
    assert fp.roundk(3 << 14, 15) == 2  # 1.5 -> 2
    assert fp.roundk((1 << 14) - 1, 15) == 0


def test_decay_to_u032_keeps_the_low_32_bits():
    """Errata 8: ulrbits((uint_ulr_t)((s * u) >> 15)) wraps a product of 2**32 or more."""
    s, u = 0x0A000000, 0xF0000000  # 1280.0 times ~0.94: far beyond 1.0
    assert fp.decay_s1615_to_u032(s, u) == ((s * u) >> 15) % (1 << 32)


def test_slow_synapse_init_wraps_on_the_chip():
    """tau_syn = 81.92 ms at dt = 0.1 ms: (tau/dt) * (1 - decay) reaches 1.0 and wraps."""
    ts, tau = 3277, round(81.92 * 32768)
    decay = fp.expulr(-((ts << 15) // int(tau)))
    exact = ((int(tau) << 15) // ts) * (0xFFFFFFFF - decay) >> 15
    assert exact >= 1 << 32  # the ideal ~0.9994 * 2**32 rounds past 1.0 here
    init = synapses.synapse_constants(np.array([81.92]), 0.1).init[0]
    assert init == exact - (1 << 32)
    assert init < 1e-3 * 2 ** 32


def test_kdivk_wraps_to_a_signed_32_bit_word():
    """Errata 9: kbits((uint32_t) udiv64(a << 15, b))."""
    a, b = fp.s1615(100.0), fp.s1615(0.001)  # 100 ms / 0.001 nF = 100,000 MOhm
    quotient = (a << 15) // b
    assert quotient > 2 ** 31
    assert fp.kdivk(a, b) == quotient - (1 << 32)
    assert bool(fp.kdivk_wraps(a, b))
