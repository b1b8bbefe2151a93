"""PyNN's procedural API (create, connect, record) over the emulator's classes."""

from __future__ import annotations

from pyNN import common
from pyNN.connectors import FixedProbabilityConnector

from repro.spinnaker.pynn_backend import simulator
from repro.spinnaker.pynn_backend.populations import Population
from repro.spinnaker.pynn_backend.projections import Projection
from repro.spinnaker.pynn_backend.standardmodels import StaticSynapse

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)
