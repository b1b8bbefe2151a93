"""sPyNNaker 7.4.1's ``extra_models.RecurrentRule``: accumulator STDP with random windows.

Two builds, chosen by ``dual_fsm`` (``TimingDependenceRecurrent.vertex_executable_suffix``),
both only with ``MultiplicativeWeightDependence``:

* ``dual_fsm=False``: ``IF_curr_exp_stdp_mad_recurrent_pre_stochastic_multiplicative``
  (``timing_recurrent_pre_stochastic_impl.h`` + ``timing_recurrent_common.h``; synapse word
  ``synapse_structure_weight_state_accumulator_window_impl.h``: 16-bit W, 4-bit signed
  accumulator, 2-bit state, 10-bit window length). Each synapse runs a state machine
  (idle, pre window open, post window open); a window's length is drawn when it opens.
* ``dual_fsm=True``: ``..._recurrent_dual_fsm_multiplicative``
  (``timing_recurrent_dual_fsm_impl.h``, ``synapse_structure_weight_accumulator_impl.h``:
  16-bit W, int16 accumulator). Every pre spike draws the row's pre window, every post
  spike the neuron's post window; the windows are the pre and post "traces".

A post event inside an open pre window counts the accumulator up, a pre spike inside an
open post window counts it down; when it would reach ``accumulator_potentiation`` (or
``accumulator_depression``) it is reset to 0 and the weight moves by one multiplicative
step with the trace at ``STDP_FIXED_POINT_ONE``: ``w += mulk(w_max - w, A+)`` or
``w -= mulk(w - w_min, A-)`` (no clamp).

Window lengths (ticks) come from the host's tables ``uint16(-mean ln(1 - k/2048))``,
k = 0 .. 2047, indexed by the low 11 bits of ``mars_kiss64_seed`` on a seed fixed in
the binary (``random_util.h``: {123456789, 234567891, 345678912, 456789123}). Each core
keeps one generator for all its synapses, so the draws are taken in the order the core
processes events: post spikes of a tick (neuron index order), then the rows of the tick's
pre spikes, synapse by synapse, each synapse's post events and then its pre spike.

The deferred update is the one of ``synapse_dynamics_stdp_mad_impl.c``
(:mod:`repro.spinnaker.stdp`): at a pre spike at tick t of a row last active at lp,
a synapse with delay d sees its post neuron's events with lp - d < tp <= t - d, each at
time tp + d, then the pre spike at t against the last event tp <= t - d (only if there
is one), whose time enters as tp + d; a post event's "last post time" is the undelayed
time of the event before it.
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker.cores import MAX_NEURONS_PER_CORE, core_slices
from repro.spinnaker.rng import MarsKiss64

#: The seed ``random_util.h`` compiles into the recurrent binaries (one copy per core).
RECURRENT_SEED = (123456789, 234567891, 345678912, 456789123)
#: ``STDP_FIXED_POINT_ONE``: table size, and the mask of a draw (``& (ONE - 1)``).
STDP_ONE = 2048
#: ``MAX_POST_SYNAPTIC_EVENTS`` (slot 0 is the dummy event at t = 0).
MAX_POST_EVENTS = 16
IDLE, PRE_OPEN, POST_OPEN = 0, 1, 2
MASK32 = 0xFFFFFFFF


def exp_dist_lut(mean_ms: float, timestep_us: int) -> np.ndarray:
    """``TimingDependenceRecurrent._write_exp_dist_lut``: the inverse CDF of an
    exponential distribution with the mean in time steps, as uint16."""
    mean = float(mean_ms * (1000.0 / timestep_us))
    indices = np.arange(STDP_ONE)
    return (np.log(1.0 - indices / float(STDP_ONE)) * -mean).astype(np.uint16)


def new_core_rngs(n_neurons: int, neurons_per_core: int = MAX_NEURONS_PER_CORE
                  ) -> list[MarsKiss64]:
    """One generator per core of a population, each at the binary's fixed seed."""
    return [MarsKiss64(RECURRENT_SEED) for _ in core_slices(n_neurons, neurons_per_core)]


def _wrap(x: int, bits: int) -> int:
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


class RecurrentSynapses:
    """The plastic synapses of one RecurrentRule projection and their histories.

    Parameters
    ----------
    rule : StdpRule
        ``timing`` "recurrent_pre_stochastic" or "recurrent_dual_fsm", multiplicative.
    pre, post, delay_steps, weight :
        Per synapse: pre- and post-neuron, delay (ticks, all dendritic), initial W.
    n_pre, n_post : int
        Population sizes.
    shift : int
        Ring-buffer left shift L of the synapse type (the weight state is W << L).
    global_scale : int
        g of the post-synaptic input type.
    timestep_us : int
        Simulation time step.
    core_rngs : list of MarsKiss64
        The generator of each core of the post population (shared by every recurrent
        projection onto it: one binary per core).
    neurons_per_core : int
        Post neurons per core (:mod:`repro.spinnaker.cores`).
    """

    def __init__(self, rule, pre: np.ndarray, post: np.ndarray, delay_steps: np.ndarray,
                 weight: np.ndarray, n_pre: int, n_post: int, shift: int, global_scale: int,
                 timestep_us: int, core_rngs: list[MarsKiss64],
                 neurons_per_core: int = MAX_NEURONS_PER_CORE) -> None:
        if rule.weight_dependence != "multiplicative":
            raise ValueError("sPyNNaker 7.4.1 builds RecurrentRule only with the "
                             "multiplicative weight dependence")
        self.dual = rule.timing == "recurrent_dual_fsm"
        self.pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        self.weight = np.asarray(weight, dtype=np.int64).copy()
        self.shift = int(shift)
        self.pre_lut = exp_dist_lut(rule.mean_pre_window, timestep_us).tolist()
        self.post_lut = exp_dist_lut(rule.mean_post_window, timestep_us).tolist()
        self.dep_plus_one = int(rule.accumulator_depression) + 1
        self.pot_minus_one = int(rule.accumulator_potentiation) - 1
        self.w_min = fp.s1615(rule.w_min * global_scale)
        self.w_max = fp.s1615(rule.w_max * global_scale)
        self.a_plus = fp.s1615(rule.a_plus)
        self.a_minus = fp.s1615(rule.a_minus)
        self.rngs = core_rngs
        self.neurons_per_core = int(neurons_per_core)
        self.core = (post // self.neurons_per_core).tolist()
        self.row_order = np.argsort(self.pre, kind="stable")
        self.indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.pre, minlength=n_pre), out=self.indptr[1:])
        self._post = post.tolist()
        self._delay = np.asarray(delay_steps, dtype=np.int64).tolist()
        # one row per (pre-neuron, core): its synapses, in row order, grouped by core
        self.rows: list[list[tuple[int, list[int]]]] = []
        for i in range(n_pre):
            groups: dict[int, list[int]] = {}
            for position in range(int(self.indptr[i]), int(self.indptr[i + 1])):
                k = int(self.row_order[position])
                groups.setdefault(self.core[k], []).append(position)
            self.rows.append(list(groups.items()))
        self.row_time: dict[tuple[int, int], int] = {}
        self.row_trace: dict[tuple[int, int], int] = {}
        n = self.weight.size
        self.accumulator = [0] * n
        self.state = [IDLE] * n
        self.window = [0] * n
        self.post_times = [[0] for _ in range(n_post)]
        self.post_traces = [[0] for _ in range(n_post)]

    def _draw(self, core: int, lut: list[int]) -> int:
        return lut[self.rngs[core].next() & (STDP_ONE - 1)]

    # --- post-synaptic side ------------------------------------------------------------

    def post_spikes(self, tick: int, neurons: np.ndarray) -> None:
        """``synapse_dynamics_process_post_synaptic_event`` for each neuron, in order."""
        for p in np.asarray(neurons).tolist():
            trace = self._draw(p // self.neurons_per_core, self.post_lut) if self.dual else 0
            times, traces = self.post_times[p], self.post_traces[p]
            if len(times) == MAX_POST_EVENTS:
                del times[1], traces[1]
            times.append(tick)
            traces.append(trace)

    # --- pre-synaptic side -------------------------------------------------------------

    def pre_spikes(self, tick: int, senders: np.ndarray) -> np.ndarray:
        """Process one spike of every sender in ``tick``; positions (row order) processed."""
        out = []
        for i in np.asarray(senders).tolist():
            for core, positions in self.rows[i]:
                key = (i, core)
                lp = self.row_time.get(key, 0)
                lr = self.row_trace.get(key, 0)
                self.row_time[key] = tick
                if self.dual:  # timing_add_pre_spike draws the row's new pre window
                    self.row_trace[key] = self._draw(core, self.pre_lut)
                for position in positions:
                    self._update(int(self.row_order[position]), tick, lp, lr, core)
                out.extend(positions)
        return np.asarray(out, dtype=np.int64)

    def _update(self, k: int, t: int, lp: int, lr: int, core: int) -> None:
        """``plasticity_update_synapse`` of synapse k for a pre spike at tick t."""
        p, d = self._post[k], self._delay[k]
        times, traces = self.post_times[p], self.post_traces[p]
        begin = lp - d if lp >= d else 0
        end = t - d if t >= d else 0
        j = len(times) - 1
        while j > 0 and times[j] > begin:
            j -= 1
        prev_time, prev_trace = times[j], traces[j]
        valid = j != 0
        w = int(self.weight[k]) << self.shift
        acc = self.accumulator[k]
        if self.dual:
            for i in range(j + 1, len(times)):
                tp = times[i]
                if tp > end:
                    break
                since_pre = (tp + d - lp) & MASK32
                if 0 < since_pre < lr:  # post spike inside the last pre window
                    if acc < self.pot_minus_one:
                        acc += 1
                    else:
                        acc, w = 0, self._potentiate(w)
                prev_time, prev_trace, valid = tp, traces[i], True
            if valid and ((t - (prev_time + d)) & MASK32) < prev_trace:
                if acc > self.dep_plus_one:
                    acc -= 1
                else:
                    acc, w = 0, self._depress(w)
            self.accumulator[k] = _wrap(acc, 16)
        else:
            state, window = self.state[k], self.window[k]
            for i in range(j + 1, len(times)):
                tp = times[i]
                if tp > end:
                    break
                now = tp + d
                if state == IDLE:
                    state, window = POST_OPEN, self._draw(core, self.post_lut)
                elif state == POST_OPEN:
                    if ((now - prev_time) & MASK32) < window:
                        state = IDLE
                    else:
                        window = self._draw(core, self.post_lut)
                elif state == PRE_OPEN:
                    since_pre = (now - lp) & MASK32
                    if since_pre == 0:
                        state = IDLE
                    elif since_pre < window:
                        if acc < self.pot_minus_one:
                            acc += 1
                        else:
                            acc, w = 0, self._potentiate(w)
                        state = IDLE
                    else:
                        state, window = POST_OPEN, self._draw(core, self.post_lut)
                prev_time, valid = tp, True
            if valid:
                if state == IDLE:
                    state, window = PRE_OPEN, self._draw(core, self.pre_lut)
                elif state == PRE_OPEN:
                    if ((t - lp) & MASK32) < window:
                        state = IDLE
                    else:
                        window = self._draw(core, self.pre_lut)
                elif state == POST_OPEN:
                    # 7.4.1 has no coincidence test here (the post side has one)
                    if ((t - (prev_time + d)) & MASK32) < window:
                        if acc > self.dep_plus_one:
                            acc -= 1
                        else:
                            acc, w = 0, self._depress(w)
                        state = IDLE
                    else:
                        state, window = PRE_OPEN, self._draw(core, self.pre_lut)
            self.accumulator[k] = _wrap(acc, 4)
            self.state[k] = state & 3
            self.window[k] = window & 0x3FF
        self.weight[k] = (w >> self.shift) & 0xFFFF

    def _potentiate(self, w: int) -> int:
        """``weight_one_term_apply_potentiation(w, STDP_FIXED_POINT_ONE)``."""
        return fp.wrap32(w + fp.mulk(fp.wrap32(self.w_max - w), self.a_plus))

    def _depress(self, w: int) -> int:
        """``weight_one_term_apply_depression(w, STDP_FIXED_POINT_ONE)``."""
        return fp.wrap32(w - fp.mulk(fp.wrap32(w - self.w_min), self.a_minus))
