"""Build RO-Crate entities: small helpers in ro-crate-py's style shared by run and campaign crates.

Each helper adds one kind of entity (the crate itself, a file with its checksum, the agent, a
piece of software, a property value, a formal parameter bound to the file it describes) and
returns it, the way ``ROCrate.add_file``, ``add_action`` and ``add_formal_parameter`` do.
ro-crate-py is imported inside the functions: it is slow to import and only crate writers
need it.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.site.envinfo import sha256_file

if TYPE_CHECKING:
    from rocrate.rocrate import ROCrate

RO_CRATE_VERSION = "1.1"
PROCESS_PROFILE = "https://w3id.org/ro/wfrun/process/0.5"
PROVENANCE_PROFILE = "https://w3id.org/ro/wfrun/provenance/0.5"
WFRUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"
REPRO_TERMS = {
    "sha256": "http://schema.org/sha256",
}
METADATA_FILE = "ro-crate-metadata.json"
DEFAULT_LICENSE = "https://spdx.org/licenses/CC-BY-4.0"
REPRO_URL = "https://pypi.org/project/repro/"
AGENT_ID = "#agent"
ENCODINGS = {
    ".npz": "application/x-npz",
    ".json": "application/json",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".py": "text/x-python",
    ".nestml": "text/plain",
    ".toml": "application/toml",
    ".nc": "application/x-netcdf",
    ".html": "text/html",
    ".md": "text/markdown",
    ".so": "application/octet-stream",
    ".png": "image/png",
}
_PROFILE_NAMES = {PROCESS_PROFILE: "Process Run Crate", PROVENANCE_PROFILE: "Provenance Run Crate"}


def new_crate(*, name: str, description: str, profiles: Sequence[str]) -> ROCrate:
    """An empty RO-Crate 1.1 that conforms to the given Workflow Run profiles."""
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=RO_CRATE_VERSION)
    crate.metadata.extra_contexts.append(WFRUN_CONTEXT)
    crate.metadata.extra_terms.update(REPRO_TERMS)
    crate.root_dataset["name"] = name
    crate.root_dataset["description"] = description
    crate.root_dataset["license"] = add_context(
        crate, DEFAULT_LICENSE, "CreativeWork",
        name="Creative Commons Attribution 4.0 International", identifier="CC-BY-4.0")
    refs = [add_context(crate, profile, "CreativeWork", name=_PROFILE_NAMES.get(profile, profile),
                        version=profile.rsplit("/", 1)[-1]) for profile in profiles]
    crate.root_dataset["conformsTo"] = scalar(refs)
    return crate


def add_context(crate: ROCrate, ident: str, kind: str | list[str], **properties: Any) -> Any:
    """Add a contextual entity ``ident`` of type ``kind`` with ``properties``."""
    from rocrate.model.contextentity import ContextEntity

    return crate.add(ContextEntity(crate, ident, properties={"@type": kind, **properties}))


def file_properties(path: Path) -> dict[str, str]:
    """What every file entity records: sha256, size in bytes and encoding format."""
    return {"sha256": sha256_file(path), "contentSize": str(path.stat().st_size),
            "encodingFormat": ENCODINGS.get(path.suffix, "application/octet-stream")}


def add_file(crate: ROCrate, root: Path, relative: str, *, name: str | None = None,
             description: str | None = None) -> Any:
    """Add the file ``root/relative`` with sha256, size and encoding format."""
    path = root / relative
    props: dict[str, Any] = {"name": name or Path(relative).name, **file_properties(path)}
    if description:
        props["description"] = description
    return crate.add_file(path, dest_path=relative, properties=props)


def property_value(crate: ROCrate, ident: str, name: str, value: Any) -> Any:
    """Add (or reuse) a PropertyValue entity ``#ident``."""
    existing = crate.get(f"#{ident}")
    if existing is not None:
        return existing
    return add_context(crate, f"#{ident}", "PropertyValue", name=name,
                       value=value if isinstance(value, str | int | float) else json.dumps(value))


def scalar(values: list[Any]) -> Any:
    """A singleton list becomes its element (RO-Crate style)."""
    return values[0] if len(values) == 1 else values


def current_agent() -> dict[str, str]:
    """Name of the person running repro (``REPRO_AGENT``, else the login name)."""
    return {"name": os.environ.get("REPRO_AGENT") or getpass.getuser()}


def add_agent(crate: ROCrate) -> Any:
    """Add (or reuse) the Person ``#agent`` running repro and make it the crate's author."""
    from rocrate.model.person import Person

    agent = crate.get(AGENT_ID)
    if agent is None:
        agent = crate.add(Person(crate, AGENT_ID, properties=current_agent()))
    crate.root_dataset["author"] = agent
    return agent


def add_software(crate: ROCrate, ident: str, name: str, version: str, *, url: str | None = None,
                 description: str | None = None, **properties: Any) -> Any:
    """Add a SoftwareApplication ``ident`` (its URL defaults to ``ident``)."""
    from rocrate.model.softwareapplication import SoftwareApplication

    props: dict[str, Any] = {"name": name, "softwareVersion": version, "url": url or ident}
    if description:
        props["description"] = description
    return crate.add(SoftwareApplication(crate, ident, properties={**props, **properties}))


def add_parameter(crate: ROCrate, ident: str, name: str, kind: str, *,
                  required: bool = False) -> Any:
    """Add the FormalParameter ``#param-ident`` of type ``kind`` (``File``, ``Collection``)."""
    return crate.add_formal_parameter(name=name, additionalType=kind, identifier=f"#param-{ident}",
                                      valueRequired=required)


def bind(entity: Any, parameter: Any) -> Any:
    """Link an input or output ``entity`` to the formal parameter it fills; return ``entity``."""
    entity["exampleOfWork"] = parameter
    parameter["workExample"] = entity
    return entity
