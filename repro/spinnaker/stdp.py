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

Two more timing rules run through the same deferred update (the window of post events,
then the last post event before the pre spike):

* ``timing_pfister_triplet_impl.h`` with ``weight_additive_two_term_impl.h``
  (``extra_models.PfisterSpikeTriplet`` + ``WeightDependenceAdditiveTriplet``): pre trace
  (r1, r2), post trace (o1, o2); r2 and o2 are sampled before their spike and decay with
  tables whose index is ``dt >> 2``. Potentiation per post event: r1' = mul16(r1,
  LUT+[tp + d - lp]), w += (A2+ r1') >> 11, w += (A3+ mul16(r1', o2)) >> 11, one clamp;
  depression at the last post event (no ``> 0`` test): o1' = mul16(o1, LUT-[t - tp - d]),
  w -= (A2- o1') >> 11, w -= (A3- mul16(o1', r2_new)) >> 11, one clamp. All four
  amplitudes are multiplied by w_max (and g) on the host.
* ``timing_vogels_2011_impl.h`` with the additive one-term rule (``extra_models.
  Vogels2011Rule``): one table (tau) for both traces; every post event in the window
  potentiates by mul16(r, LUT[tp + d - lp]), and the pre spike *potentiates* by
  mul16(o, LUT[t - tp - d]) - alpha (alpha = round(alpha * 2048)), a negative amount when
  the post trace is below alpha; the only clamp is at w_max.
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


#: Timing rules and the weight dependences each runs with (sPyNNaker 7.4.1 binaries).
TIMING_RULES = {"pair": ("additive", "multiplicative"), "triplet": ("additive_triplet",),
                "vogels2011": ("additive",), "recurrent_pre_stochastic": ("multiplicative",),
                "recurrent_dual_fsm": ("multiplicative",)}
#: ``TAU_X`` / ``TAU_Y`` tables of the triplet rule are indexed by ``dt >> 2``.
TRIPLET_LUT_SHIFT = 2


@dataclass(frozen=True)
class Neuromodulation:
    """``extra_models.Neuromodulation``: dopamine parameters of a post population.

    Attributes
    ----------
    tau_c, tau_d : float
        Time constants (ms) of the eligibility trace and of the dopamine trace.
    w_min, w_max : float
        Bounds of the real weight (nA or uS); the STDP weight dependence's bounds apply to
        the eligibility trace.
    """

    tau_c: float = 1000.0
    tau_d: float = 200.0
    w_min: float = 0.0
    w_max: float = 1.0


@dataclass(frozen=True)
class StdpRule:
    """Timing rule and weight dependence in PyNN units.

    Attributes
    ----------
    weight_dependence : str
        "additive", "multiplicative" or "additive_triplet" (two-term additive).
    tau_plus, tau_minus : float
        Trace time constants (ms); Vogels 2011: both are its tau.
    a_plus, a_minus : float
        Amplitudes (sPyNNaker: absolute for additive, not multiplied by w_max; the
        triplet rule's A2+ and A2- are multiplied by w_max).
    w_min, w_max : float
        Weight bounds (nA or uS).
    timing : str
        "pair", "triplet", "vogels2011", or RecurrentRule's "recurrent_pre_stochastic" /
        "recurrent_dual_fsm" (:mod:`repro.spinnaker.stdp_recurrent`; no taus).
    tau_x, tau_y : float
        Triplet rule: time constants of the second pre and post traces (ms).
    a3_plus, a3_minus : float
        Triplet rule: amplitudes of the triplet terms (multiplied by w_max).
    alpha : float
        Vogels 2011: the depression offset of a pre spike (trace units, 1 = one spike).
    accumulator_depression, accumulator_potentiation : int
        RecurrentRule: accumulator values at which the weight is depressed / potentiated.
    mean_pre_window, mean_post_window : float
        RecurrentRule: means of the exponentially distributed window lengths (ms).
    neuromodulation : Neuromodulation or None
        Set when the post population receives reward or punishment projections: the
        rule then drives an eligibility trace, and dopamine turns it into weight changes
        (:mod:`repro.spinnaker.neuromodulation`).
    """

    weight_dependence: str
    tau_plus: float
    tau_minus: float
    a_plus: float
    a_minus: float
    w_min: float
    w_max: float
    timing: str = "pair"
    tau_x: float = 0.0
    tau_y: float = 0.0
    a3_plus: float = 0.0
    a3_minus: float = 0.0
    alpha: float = 0.0
    accumulator_depression: int = 0
    accumulator_potentiation: int = 0
    mean_pre_window: float = 0.0
    mean_post_window: float = 0.0
    neuromodulation: Neuromodulation | None = None


def exp_lut(timestep_ms: float, tau_ms: float, shift: int = 0) -> np.ndarray:
    """``get_exp_lut_array``: floor(exp(-(k << shift) dt/tau) * 2048), k < size (size even)."""
    decay = timestep_ms / float(tau_ms)
    size, extra = divmod(math.log(STDP_ONE) / decay / (1 << shift), 2)
    size = (int(size) + (extra > 0)) * 2
    return np.floor(np.exp((np.arange(size) << shift) * -decay) * STDP_ONE).astype(np.int64)


def int16(x: np.ndarray) -> np.ndarray:
    """Reinterpret the low 16 bits as signed (a C cast to int16_t)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 15)) & 0xFFFF) - (1 << 15)


def mul16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``STDP_FIXED_MUL_16X16``: signed 16 x 16 multiply of the low halves, >> 11."""
    return (int16(a) * int16(b)) >> STDP_FIXED_POINT


def lookup(lut: np.ndarray, dt_ticks: np.ndarray, shift: int = 0) -> np.ndarray:
    """``maths_lut_exponential_decay``: entry ``dt >> shift`` of a uint32 time, 0 beyond
    the table."""
    dt = (np.asarray(dt_ticks, dtype=np.int64) & 0xFFFFFFFF) >> shift
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
        if rule.weight_dependence not in TIMING_RULES.get(rule.timing, ()):
            raise ValueError(f"no emulation of the {rule.timing} timing rule with "
                             f"{rule.weight_dependence} weight dependence")
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
        if rule.timing == "triplet":
            self.lut_x = exp_lut(timestep_ms, rule.tau_x, TRIPLET_LUT_SHIFT)
            self.lut_y = exp_lut(timestep_ms, rule.tau_y, TRIPLET_LUT_SHIFT)
            top = rule.w_max * g
            self.a_plus, self.a_minus, self.a3_plus, self.a3_minus = (
                fp.s1615(a * top) for a in (rule.a_plus, rule.a_minus, rule.a3_plus,
                                            rule.a3_minus))
        #: Vogels 2011: ``float_to_fixed(alpha)``.
        self.alpha = int(round(rule.alpha * STDP_ONE))
        order = np.argsort(self.pre, kind="stable")
        self.row_order = order
        self.indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.pre, minlength=n_pre), out=self.indptr[1:])
        self.pre_time = np.zeros(n_pre, dtype=np.int64)
        self.pre_trace = np.zeros(n_pre, dtype=np.int64)
        self.post_times = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)
        self.post_traces = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)
        self.post_count = np.zeros(n_post, dtype=np.int64)  # real events stored
        if rule.timing == "triplet":  # r2; o2 and the o2 bookkeeping time
            self.pre_trace2 = np.zeros(n_pre, dtype=np.int64)
            self.post_traces2 = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)
            self.post_spike_time = np.zeros((n_post, MAX_POST_EVENTS), dtype=np.int64)

    def _post_arrays(self) -> list[np.ndarray]:
        if self.rule.timing == "triplet":
            return [self.post_times, self.post_traces, self.post_traces2, self.post_spike_time]
        return [self.post_times, self.post_traces]

    # --- post-synaptic side ----------------------------------------------------------

    def post_spikes(self, tick: int, neurons: np.ndarray) -> None:
        """Add post events (``synapse_dynamics_process_post_synaptic_event``)."""
        if neurons.size == 0:
            return
        count = self.post_count[neurons]
        last_time = self.post_times[neurons, count]
        last_trace = self.post_traces[neurons, count]
        decayed = mul16(last_trace, lookup(self.lut_minus, tick - last_time))
        values = [np.full(neurons.size, tick, dtype=np.int64), int16(decayed + STDP_ONE)]
        if self.rule.timing == "triplet":  # timing_decay_post, then o1 += 1, time = t
            last_o2 = self.post_traces2[neurons, count]
            since = self.post_spike_time[neurons, count]
            o2 = np.where(
                since == 0,
                mul16(last_o2, lookup(self.lut_y, tick - last_time, TRIPLET_LUT_SHIFT)),
                mul16(last_o2 + STDP_ONE, lookup(self.lut_y, tick - since,
                                                 TRIPLET_LUT_SHIFT)))
            values += [int16(o2), values[0]]
        self._push_post_event(neurons, self._post_arrays(), values)

    def _push_post_event(self, neurons: np.ndarray, arrays: list[np.ndarray],
                         values: list) -> None:
        """``post_events_add`` for distinct neurons: one event (a value per history array)
        appended to each neuron's history, the oldest dropped from a full one."""
        count = self.post_count[neurons]
        full = count >= MAX_POST_EVENTS - 1
        if full.any():
            rows = neurons[full]
            for array in arrays:
                array[rows, 1:-1] = array[rows, 2:]
        slot = np.minimum(count + 1, MAX_POST_EVENTS - 1)
        for array, value in zip(arrays, values, strict=True):
            array[neurons, slot] = value
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

    def _two_terms(self, state: np.ndarray, a2: int, x2: np.ndarray, a3: int,
                   x3: np.ndarray, sign: int) -> np.ndarray:
        """``weight_two_term_apply_*``: two additive terms, then one clamp."""
        state = fp.wrap32(state + sign * ((a2 * x2) >> STDP_FIXED_POINT))
        state = fp.wrap32(state + sign * ((a3 * x3) >> STDP_FIXED_POINT))
        return (np.minimum(state, self.w_max) if sign > 0
                else np.maximum(state, self.w_min))

    def _pre_traces(self, tick: int, senders: np.ndarray) -> tuple[np.ndarray, ...]:
        """Update the senders' pre traces (``timing_add_pre_spike``); return the old time
        and first trace, and the new second trace (triplet rule) of every sender."""
        last_time = self.pre_time[senders]
        last_trace = self.pre_trace[senders]
        new_trace = int16(mul16(last_trace, lookup(self.lut_plus, tick - last_time)) + STDP_ONE)
        self.pre_trace[senders] = new_trace
        self.pre_time[senders] = tick
        if self.rule.timing != "triplet":
            return last_time, last_trace, None
        decay_x = lookup(self.lut_x, tick - last_time, TRIPLET_LUT_SHIFT)
        r2 = np.where(last_time == 0, 0,
                      int16(mul16(self.pre_trace2[senders] + STDP_ONE, decay_x)))
        self.pre_trace2[senders] = r2
        return last_time, last_trace, r2

    def _apply_post(self, state: np.ndarray, lr: np.ndarray, since: np.ndarray,
                    o2: np.ndarray | None) -> np.ndarray:
        """``timing_apply_post_spike`` of a post event ``since`` ticks after the last pre."""
        r = mul16(lr, lookup(self.lut_plus, since))
        if self.rule.timing == "triplet":
            return self._two_terms(state, self.a_plus, r, self.a3_plus, mul16(r, o2), 1)
        return self._potentiate(state, r)

    def _apply_pre(self, state: np.ndarray, o: np.ndarray, since: np.ndarray,
                   r2: np.ndarray | None) -> np.ndarray:
        """``timing_apply_pre_spike``: the pre spike ``since`` ticks after the last post."""
        decayed = mul16(o, lookup(self.lut_minus, since))
        if self.rule.timing == "triplet":
            return self._two_terms(state, self.a_minus, decayed, self.a3_minus,
                                   mul16(decayed, r2), -1)
        if self.rule.timing == "vogels2011":
            return self._potentiate(state, decayed - self.alpha)
        return self._depress(state, decayed)

    def _row_positions(self, senders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (in row order) of the synapses of the senders' rows, and row lengths."""
        starts = self.indptr[senders]
        lengths = self.indptr[senders + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if ends.size else 0
        return np.repeat(starts - ends + lengths, lengths) + np.arange(total), lengths

    def _pre_window(self, tick: int, senders: np.ndarray) -> tuple[np.ndarray, tuple | None]:
        """The synapses one tick's pre spikes reach, and what each of them needs.

        Updates the senders' pre traces. Returns the positions (in row order) of the synapses
        and, unless there are none (then ``None``), per synapse: row index, time and first
        trace of the previous pre spike, delay, post neuron, the window (begin, end] of
        delayed post events to apply, and the new second pre trace (triplet rule, else
        ``None``).
        """
        positions, lengths = self._row_positions(senders)
        rows = self.row_order[positions]
        last_time, last_trace, new_r2 = self._pre_traces(tick, senders)
        if positions.size == 0:
            return positions, None
        lp = np.repeat(last_time, lengths)
        d = self.delay[rows]
        r2 = None if new_r2 is None else np.repeat(new_r2, lengths)
        return positions, (rows, lp, np.repeat(last_trace, lengths), d, self.post[rows],
                           np.where(lp >= d, lp - d, 0), np.maximum(tick - d, 0), r2)

    def pre_spikes(self, tick: int, senders: np.ndarray) -> np.ndarray:
        """Process one spike of every sender (distinct pre-neurons) in ``tick``.

        Returns
        -------
        numpy.ndarray
            Positions (in row order, ``argsort(pre, kind="stable")``) of the synapses
            processed; their updated weights are in :attr:`weight`.
        """
        positions, window = self._pre_window(tick, senders)
        if window is None:
            return positions
        rows, lp, lr, d, p, begin, end, r2 = window
        total = positions.size
        times = self.post_times[p]
        traces = self.post_traces[p]
        triplet = self.rule.timing == "triplet"
        traces2 = self.post_traces2[p] if triplet else None
        real = np.arange(MAX_POST_EVENTS)[None, :] <= self.post_count[p][:, None]
        real[:, 0] = False
        state = self.weight[rows] << self.shift
        in_window = real & (times > begin[:, None]) & (times <= end[:, None])
        for k in range(1, MAX_POST_EVENTS):
            hit = in_window[:, k]
            if not hit.any():
                continue
            state[hit] = self._apply_post(state[hit], lr[hit],
                                          times[hit, k] + d[hit] - lp[hit],
                                          traces2[hit, k] if triplet else None)
        seen = real & (times <= end[:, None])
        has_prev = seen.any(axis=1)
        last = MAX_POST_EVENTS - 1 - np.argmax(seen[:, ::-1], axis=1)
        since = tick - (times[np.arange(total), last] + d)
        # No Δ > 0 test: a pre spike in the tick of the (delayed) post spike depresses by
        # the whole post trace (LUT[0] = 2048), as the 7.4.1 binaries compute it.
        if has_prev.any():
            state[has_prev] = self._apply_pre(state[has_prev], traces[has_prev, last[has_prev]],
                                              since[has_prev], r2[has_prev] if triplet else None)
        self.weight[rows] = (state >> self.shift) & 0xFFFF
        return positions
