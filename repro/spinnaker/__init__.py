"""Emulation of SpiNNaker (sPyNNaker 7.4.1) fixed-point numerics in numpy.

Site-side package: it imports only the standard library, numpy and pyNN, because it is
shipped inside run bundles. :mod:`repro.spinnaker.pynn_backend` is the PyNN backend module
the harness loads for the ``spinnaker_emulator`` backend; the other modules hold the
arithmetic (:mod:`.fixedpoint`), the model pieces (:mod:`.neurons` composing :mod:`.lif` /
:mod:`.izhikevich`, :mod:`.shaping`, :mod:`.inputs`, :mod:`.current_sources`; :mod:`.synapses`,
:mod:`.stdp`, :mod:`.ringbuffer`, :mod:`.poisson`, :mod:`.sources`) and the time-step loop
(:mod:`.engine`). What each reproduces is written down in ``docs/spinnaker-numerics-models.md``
and the shared ``spinnaker-numerics.md``.
"""

#: sPyNNaker release whose numerics are emulated.
EMULATED_SPYNNAKER_VERSION = "7.4.1"
#: Name the emulator reports as its simulator.
EMULATOR_NAME = "sPyNNaker-emulator"
