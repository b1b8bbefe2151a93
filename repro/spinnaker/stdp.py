"""STDP of sPyNNaker 7.4.1: pair rule with additive or multiplicative weight dependence.

``synapse_dynamics_stdp_mad_impl.c`` with ``timing_pair_impl.h``, ``post_events.h`` and
``weight_additive_one_term_impl.h`` / ``weight_multiplicative_impl.h``. Weights are
updated only when a pre-synaptic spike is processed (deferred updates), in the tick it
is sent, before its weight goes into the ring buffer. All delay is dendritic (axonal
delay 0, ``backprop_delay`` True), so post spikes are seen d ticks late.

Fixed point: traces are int16 with 11 fractional bits (``STDP_FIXED_POINT_ONE`` = 2048),
decays come from host lookup tables ``floor(exp(-k dt / tau) * 2048)`` for k = 0 .. size-1
(size = ln(2048) tau / dt rounded up to even; 0 beyond), products of traces are
``__smulbb(a, b) >> 11`` on the low 16 bits. The weight state is ``W << L`` as an
S16.15 (w * g), and goes back to the row as ``(state >> L) & 0xFFFF``, so sub-LSB changes
are lost at every update.

Pre spike at tick t of a row with last pre time lp and trace lr, through a synapse with
delay d to post neuron p (post history: up to 15 (time, trace) pairs after a dummy at 0):

1. r_new = int16(mul16(lr, LUT+[t - lp]) + 2048) (the row's new trace);
2. for every post event tp of p with lp - d < tp <= t - d (bounds floored at 0), in
   order: potentiation with mul16(lr, LUT+[tp + d - lp]);
3. if p has a real post event tp <= t - d (the last one), and t - (tp + d) > 0:
   depression with mul16(o_tp, LUT-[t - tp - d]).

Additive: w += (A+ g * r) >> 11, clamped to w_max g; w -= (A- g * o) >> 11, clamped to
w_min g. Multiplicative: w += ((w_max g - w) * A+) * r >> 11; w -= ((w - w_min g) * A-)
* o >> 11 (no clamp). A post spike at tick t: o = int16(mul16(o_last, LUT-[t - t_last])
+ 2048), appended (the oldest real event is dropped when 15 are stored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: ``STDP_FIXED_POINT``: traces and lookup tables carry 11 fractional bits.
STDP_FIXED_POINT = 11
STDP_ONE = 1 << STDP_FIXED_POINT
#: ``MAX_POST_SYNAPTIC_EVENTS``: slots of a post history (slot 0 is the dummy at t = 0).
MAX_POST_EVENTS = 16


@dataclass(frozen=True)
class StdpRule:
    """Pair rule and weight dependence in PyNN units.

    Attributes
    ----------
    weight_dependence : str
        "additive" or "multiplicative".
    tau_plus, tau_minus : float
        Trace time constants (ms).
    a_plus, a_minus : float
        Amplitudes (sPyNNaker: absolute for additive, not multiplied by w_max).
    w_min, w_max : float
        Weight bounds (nA or uS).
    """

    weight_dependence: str
    tau_plus: float
    tau_minus: float
    a_plus: float
    a_minus: float
    w_min: float
    w_max: float


def exp_lut(timestep_ms: float, tau_ms: float) -> np.ndarray:
    """``get_exp_lut_array``: floor(exp(-k dt/tau) * 2048), k < size (size even)."""
    decay = timestep_ms / float(tau_ms)
    size, extra = divmod(math.log(STDP_ONE) / decay, 2)
    size = (int(size) + (extra > 0)) * 2
    return np.floor(np.exp(np.arange(size) * -decay) * STDP_ONE).astype(np.int64)


def int16(x: np.ndarray) -> np.ndarray:
    """Reinterpret the low 16 bits as signed (a C cast to int16_t)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 15)) & 0xFFFF) - (1 << 15)


def mul16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``STDP_FIXED_MUL_16X16``: signed 16 x 16 multiply of the low halves, >> 11."""
    return (int16(a) * int16(b)) >> STDP_FIXED_POINT


def lookup(lut: np.ndarray, dt_ticks: np.ndarray) -> np.ndarray:
    """``maths_lut_exponential_decay``: table entry of a uint32 time, 0 beyond the table."""
    dt = np.asarray(dt_ticks, dtype=np.int64) & 0xFFFFFFFF
    return np.where(dt < lut.size, lut[np.minimum(dt, lut.size - 1)], 0)


class PlasticSynapses:
    """The plastic synapses of one projection with their pre and post histories.

    Parameters
    ----------
    rule : StdpRule
        The rule.
    pre, post : numpy.ndarray
        Pre- and post-neuron of every synapse (indices within their populations).
    delay_steps : numpy.ndarray
        Delay of every synapse (ticks, all dendritic).
    weight : numpy.ndarray
        Initial weight integers W.
    n_pre, n_post : int
        Population sizes.
    shift : int
        Ring-buffer left shift L of the synapse type.
    global_scale : int
        g of the post-synaptic input type (1 current, 1024 conductance).
    timestep_ms : float
        Simulation time step.
    """

    def __init__(self, rule: StdpRule, pre: np.ndarray, post: np.ndarray,
                 delay_steps: np.ndarray, weight: np.ndarray, n_pre: int, n_post: int,
                 shift: int, global_scale: int, timestep_ms: float) -> None:
        if rule.weight_dependence not in ("additive", "multiplicative"):
            raise ValueError(f"no emulation of {rule.weight_dependence} weight dependence")
        self.rule = rule
        self.pre = np.asarray(pre, dtype=np.int64)
        self.post = np.asarray(post, dtype=np.int64)
        self.delay = np.asarray(delay_steps, dtype=np.int64)
        self.weight = np.asarray(weight, dtype=np.int64).copy()
        self.shift = int(shift)
        self.lut_plus = exp_lut(timestep_ms, rule.tau_plus)
        self.lut_minus = exp_lut(timestep_ms, rule.tau_minus)
        g = global_scale
        self.w_min = fp.s1615(rule.w_min * g)
        self.w_max = fp.s1615(rule.w_max * g)
        additive = rule.weight_dependence == "additive"
        self.a_plus = fp.s1615(rule.a_plus * g if additive else rule.a_plus)
        self.a_minus = fp.s1615(rule.a_minus * g if additive else rule.a_minus)
        order = np.argsort(self.pre, kind="stable")
        self.row_order = order
        self.indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.pre, minlength=n_pre), out=self.indptr[1:])
        self.pre_time = np.zeros(n_pre, dtype=np.int64)
        self.pre_trace = np.zeros(n_pre, dtype=np.int64)
        self.post_times = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)
        self.post_traces = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)
        self.post_count = np.zeros(n_post, dtype=np.int64)  # real events stored

    # --- post-synaptic side ----------------------------------------------------------

    def post_spikes(self, tick: int, neurons: np.ndarray) -> None:
        """Add post events (``synapse_dynamics_process_post_synaptic_event``)."""
        if neurons.size == 0:
            return
        count = self.post_count[neurons]
        last_time = self.post_times[neurons, count]
        last_trace = self.post_traces[neurons, count]
        trace = int16(mul16(last_trace, lookup(self.lut_minus, tick - last_time)) + STDP_ONE)
        full = count >= MAX_POST_EVENTS - 1
        if full.any():
            rows = neurons[full]
            self.post_times[rows, 1:-1] = self.post_times[rows, 2:]
            self.post_traces[rows, 1:-1] = self.post_traces[rows, 2:]
        slot = np.minimum(count + 1, MAX_POST_EVENTS - 1)
        self.post_times[neurons, slot] = tick
        self.post_traces[neurons, slot] = trace
        self.post_count[neurons] = slot

    # --- pre-synaptic side -------------------------------------------------------------

    def _potentiate(self, state: np.ndarray, r: np.ndarray) -> np.ndarray:
        if self.rule.weight_dependence == "additive":
            return np.minimum(fp.wrap32(state + ((self.a_plus * r) >> STDP_FIXED_POINT)),
                              self.w_max)
        scale = fp.mulk(fp.wrap32(self.w_max - state), self.a_plus)
        return fp.wrap32(state + (fp.wrap32(scale * r) >> STDP_FIXED_POINT))

    def _depress(self, state: np.ndarray, o: np.ndarray) -> np.ndarray:
        if self.rule.weight_dependence == "additive":
            return np.maximum(fp.wrap32(state - ((self.a_minus * o) >> STDP_FIXED_POINT)),
                              self.w_min)
        scale = fp.mulk(fp.wrap32(state - self.w_min), self.a_minus)
        return fp.wrap32(state - (fp.wrap32(scale * o) >> STDP_FIXED_POINT))

    def pre_spikes(self, tick: int, senders: np.ndarray) -> np.ndarray:
        """Process one spike of every sender (distinct pre-neurons) in ``tick``.

        Returns
        -------
        numpy.ndarray
            Positions (in row order, ``argsort(pre, kind="stable")``) of the synapses
            processed; their updated weights are in :attr:`weight`.
        """
        starts = self.indptr[senders]
        lengths = self.indptr[senders + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if ends.size else 0
        positions = np.repeat(starts - ends + lengths, lengths) + np.arange(total)
        rows = self.row_order[positions]
        last_time = self.pre_time[senders]
        last_trace = self.pre_trace[senders]
        self.pre_trace[senders] = int16(
            mul16(last_trace, lookup(self.lut_plus, tick - last_time)) + STDP_ONE)
        self.pre_time[senders] = tick
        if total == 0:
            return positions
        lp = np.repeat(last_time, lengths)
        lr = np.repeat(last_trace, lengths)
        d = self.delay[rows]
        p = self.post[rows]
        begin = np.where(lp >= d, lp - d, 0)
        end = max(tick, 0) - d
        end = np.where(end >= 0, end, 0)
        times = self.post_times[p]
        traces = self.post_traces[p]
        real = np.arange(MAX_POST_EVENTS)[None, :] <= self.post_count[p][:, None]
        real[:, 0] = False
        state = self.weight[rows] << self.shift
        in_window = real & (times > begin[:, None]) & (times <= end[:, None])
        for k in range(1, MAX_POST_EVENTS):
            hit = in_window[:, k]
            if not hit.any():
                continue
            r = mul16(lr[hit], lookup(self.lut_plus, times[hit, k] + d[hit] - lp[hit]))
            state[hit] = self._potentiate(state[hit], r)
        seen = real & (times <= end[:, None])
        has_prev = seen.any(axis=1)
        last = MAX_POST_EVENTS - 1 - np.argmax(seen[:, ::-1], axis=1)
        since = tick - (times[np.arange(total), last] + d)
        depress = has_prev & (since != 0)
        if depress.any():
            o = mul16(traces[depress, last[depress]], lookup(self.lut_minus, since[depress]))
            state[depress] = self._depress(state[depress], o)
        self.weight[rows] = (state >> self.shift) & 0xFFFF
        return positions
