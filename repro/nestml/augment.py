"""Add repro's hand-written C++ to a NESTML-generated NEST module: the signed volume transmitter.

NESTML 9 generates a neuromodulated synapse that reads NEST's ``volume_transmitter`` and
calls its volume-transmitter port's handler once per event without the event's amount; NEST
3.10's volume transmitter counts spikes and drops their weights. Negative dopamine (the
"punishment" of sPyNNaker's Neuromodulation) and several dopamine spikes in one step need
the amount, and no NESTML option or NEST model provides it. So, for each pair whose
:attr:`~repro.nestml.pairs.SynapsePair.vt_amount` names a state variable, :func:`augment`

* copies ``cxx/repro_signed_volume_transmitter.{h,cpp}`` (a volume transmitter that keeps
  each step's signed sum of weight x multiplicity) into the generated tree, lists them in
  the module's ``CMakeLists.txt`` and registers the node as :data:`SIGNED_VT_MODEL`;
* points the synapse's common properties at that node type instead of NEST's;
* sets the state variable to the event's amount before each run of the port's handler.

Each edit is anchored on text NESTML 9.0 generates; if an anchor is missing (another NESTML)
the build stops with an error naming the file and the anchor, never a silently unpatched
module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repro.errors import ReproError
from repro.nestml.pairs import SynapsePair
from repro.site.envinfo import sha256_file

#: Hand-written C++ shipped with repro.
CXX_DIR = Path(__file__).resolve().parent / "cxx"
CXX_FILES = ("repro_signed_volume_transmitter.h", "repro_signed_volume_transmitter.cpp")
#: The NEST model name the module registers for the signed volume transmitter.
SIGNED_VT_MODEL = "repro_signed_volume_transmitter"
_CXX_CLASS = "::repro::SignedVolumeTransmitter"


def needs_augment(pairs: Sequence[SynapsePair]) -> bool:
    """True when one of ``pairs`` reads the signed volume transmitter."""
    return any(p.vt_amount for p in pairs)


def cxx_digest() -> list[list[str]]:
    """``[[file, sha256], ...]`` of the hand-written sources (part of the build key)."""
    return [[name, sha256_file(CXX_DIR / name)] for name in CXX_FILES]


def augment(generated: Path, module: str, pairs: Sequence[SynapsePair], suffix: str) -> None:
    """Apply the additions above to the NESTML output in ``generated`` (in place).

    Raises
    ------
    ReproError
        When the generated code lacks a text the edits are anchored on.
    """
    readers = [p for p in pairs if p.vt_amount]
    if not readers:
        return
    for name in CXX_FILES:
        (generated / name).write_bytes((CXX_DIR / name).read_bytes())
    _edit(generated / "CMakeLists.txt", f"    {module}.h {module}.cpp\n",
          f"    {module}.h {module}.cpp\n    {' '.join(CXX_FILES)}\n")
    module_cpp = generated / f"{module}.cpp"
    _edit(module_cpp, '#include "nest_extension_interface.h"\n',
          '#include "nest_extension_interface.h"\n#include "repro_signed_volume_transmitter.h"\n')
    _edit(module_cpp, "    // register neurons\n",
          f'    // register neurons\n    repro::register_signed_volume_transmitter( '
          f'"{SIGNED_VT_MODEL}" );\n')
    for pair in readers:
        _read_signed_amounts(generated / f"{pair.nest_synapse(suffix)}.h", pair)


def _read_signed_amounts(header: Path, pair: SynapsePair) -> None:
    """Make the synapse take its volume transmitter from :data:`SIGNED_VT_MODEL` and set
    ``pair.vt_amount`` to each event's amount before the port's handler runs."""
    _edit(header, '#include "volume_transmitter.h"\n',
          '#include "volume_transmitter.h"\n#include "repro_signed_volume_transmitter.h"\n')
    _edit(header, "dynamic_cast< volume_transmitter* >( vt )",
          f"dynamic_cast< {_CXX_CLASS}* >( vt )")
    _edit(header, '"Neuromodulatory source must be volume transmitter"',
          f'"Neuromodulatory source must be {SIGNED_VT_MODEL}"')
    _edit(header, "volume_transmitter* vt_ = nullptr;", f"{_CXX_CLASS}* vt_ = nullptr;")
    port = pair.vt_ports[0]
    text = header.read_text(encoding="utf-8")
    start = text.find(f"::process_{port}_spikes_( const std::vector< spikecounter >& vt_spikes,")
    end = text.find("** Synapse dynamics", start)
    step = "++vt_spikes_idx_;\n"
    if start < 0 or end < 0 or text.count(step, start, end) != 2:
        raise ReproError(f"{header.name}: the NESTML-generated handler of port {port!r} is not "
                         "the one repro's signed volume transmitter is written for (NESTML 9.0: "
                         f"two '{step.strip()}' in process_{port}_spikes_)")
    reading = (f"{step}    S_.{pair.vt_amount} = vt_spikes[ vt_spikes_idx_ ].multiplicity_;"
               "  // repro: the event's signed amount\n")
    header.write_text(text[:start] + text[start:end].replace(step, reading) + text[end:],
                      encoding="utf-8")


def _edit(path: Path, anchor: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text.count(anchor) != 1:
        raise ReproError(f"{path.name}: expected the NESTML-generated text {anchor.strip()!r} "
                         f"once, found it {text.count(anchor)} times (repro's C++ additions "
                         "are written for NESTML 9.0)")
    path.write_text(text.replace(anchor, replacement), encoding="utf-8")
