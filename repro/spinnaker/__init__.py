"""Emulation of SpiNNaker (sPyNNaker 7.4.1) fixed-point numerics in numpy.

Site-side package: it imports only the standard library, numpy and pyNN, because it is
shipped inside run bundles. :mod:`repro.spinnaker.pynn_backend` is the PyNN backend module
the harness loads for the ``spinnaker_emulator`` backend; the other modules hold the
arithmetic (:mod:`.fixedpoint`), the model pieces (:mod:`.lif`, :mod:`.synapses`,
:mod:`.ringbuffer`, :mod:`.poisson`, :mod:`.sources`) and the time-step loop (:mod:`.engine`).
"""

#: sPyNNaker release whose numerics are emulated.
EMULATED_SPYNNAKER_VERSION = "7.4.1"
#: Name the emulator reports as its simulator.
EMULATOR_NAME = "sPyNNaker-emulator"
