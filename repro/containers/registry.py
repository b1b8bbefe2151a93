"""Container images in OCI registries through ORAS: push a SIF, resolve a tag, pull by digest.

A SIF image travels as an ORAS artifact, the way ``apptainer push/pull oras://`` stores it:
one layer of media type ``application/vnd.sylabs.sif.layer.v1.sif`` under an OCI image
manifest. The manifest digest (``Docker-Content-Digest``) is what runs pin and record.
Pulling always goes by digest and verifies both the manifest bytes and the SIF layer
against their sha256 before the file appears at its destination.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import requests

from repro.containers.apptainer import ImageReference, parse_image_reference
from repro.errors import InputError, IntegrityError, TargetError
from repro.site.envinfo import sha256_file as hex_sha256

SIF_LAYER_MEDIA_TYPE = "application/vnd.sylabs.sif.layer.v1.sif"
SIF_CONFIG_MEDIA_TYPE = "application/vnd.sylabs.sif.config.v1+json"
MANIFEST_MEDIA_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json")
#: The SIF global header: 32-byte launch script, then ``SIF_MAGIC\0``.
SIF_MAGIC = b"SIF_MAGIC\x00"
SIF_MAGIC_OFFSET = 32
PING_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ImageRecord:
    """An image as the registry knows it.

    Attributes
    ----------
    reference : str
        ``oras://registry/repository@sha256:…`` (what a target pins).
    digest : str
        Manifest digest.
    layer_digest : str
        Digest of the SIF layer (the sha256 of the SIF file itself).
    size : int
        Size of the SIF file in bytes.
    tag : str
        The tag pushed or resolved ('' when the reference carried none).
    path : str
        Local SIF file (pushed or pulled; '' for a plain digest lookup).
    """

    reference: str
    digest: str
    layer_digest: str = ""
    size: int = 0
    tag: str = ""
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def parse_registry_reference(text: str, *, field: str = "reference") -> ImageReference:
    """Parse ``[oras://]registry/repository[:tag][@sha256:…]`` (the scheme defaults to oras)."""
    full = text if "://" in text else f"oras://{text}"
    ref = parse_image_reference(full, field=field)
    if ref.scheme != "oras":
        raise InputError(f"{text!r}: only oras:// references live in an OCI registry as SIF "
                         "artifacts", field=field)
    return ref


def is_sif(path: Path) -> bool:
    """True when ``path`` starts with a SIF global header."""
    with path.open("rb") as handle:
        head = handle.read(SIF_MAGIC_OFFSET + len(SIF_MAGIC))
    return head[SIF_MAGIC_OFFSET:] == SIF_MAGIC


def sha256_file(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes (an OCI digest)."""
    return "sha256:" + hex_sha256(path)


def _loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Registry:
    """One OCI registry, spoken to through an ``oras`` client.

    Parameters
    ----------
    host : str
        ``host[:port]``.
    plain_http : bool, optional
        Talk HTTP instead of HTTPS. Default: HTTP only for loopback registries.
    """

    def __init__(self, host: str, *, plain_http: bool | None = None) -> None:
        import oras.client

        logging.getLogger("oras").setLevel(logging.WARNING)
        self.host = host
        self.plain_http = _loopback(host) if plain_http is None else plain_http
        self.client = oras.client.OrasClient(hostname=host, insecure=self.plain_http)
        self.base_url = f"{'http' if self.plain_http else 'https'}://{host}"

    def ping(self) -> None:
        """Fail fast with one clear message when the registry is not there.

        Raises
        ------
        TargetError
            If ``/v2/`` cannot be reached or does not speak the registry API.
        """
        try:
            answer = self.client.session.get(f"{self.base_url}/v2/", timeout=PING_TIMEOUT_S)
        except requests.RequestException as exc:
            raise TargetError(f"registry {self.host} is not reachable: "
                              f"{type(exc).__name__}") from None
        if answer.status_code not in (200, 401):
            raise TargetError(f"registry {self.host} answered HTTP {answer.status_code} on "
                              "/v2/; is it an OCI registry?")

    def _manifest_request(self, method: str, ref: ImageReference, what: str
                          ) -> requests.Response:
        """``method`` on the manifest ``what`` of ``ref``; a 404 or other failure raises.

        Raises
        ------
        InputError
            If the registry has no such image (404).
        TargetError
            For any other answer than 200.
        """
        answer = self._request(method, self._manifest_url(ref, what))
        if answer.status_code == 404:
            raise InputError(f"{ref}: no such image in registry {self.host}",
                             field="reference")
        if answer.status_code != 200:
            raise TargetError(f"registry {self.host}: {method} manifest {what} answered HTTP "
                              f"{answer.status_code}")
        return answer

    def _manifest_url(self, ref: ImageReference, what: str) -> str:
        return f"{self.base_url}/v2/{ref.repository}/manifests/{what}"

    def _request(self, method: str, url: str) -> requests.Response:
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        try:
            return self.client.do_request(url, method, headers=headers)
        except requests.RequestException as exc:
            raise TargetError(f"registry {self.host}: {method} {url} failed: "
                              f"{type(exc).__name__}") from None

    def resolve(self, ref: ImageReference) -> str:
        """Manifest digest the registry reports for ``ref`` (``HEAD`` on the manifest).

        Raises
        ------
        InputError
            If the registry has no such tag or digest.
        TargetError
            If the registry fails or sends no ``Docker-Content-Digest``.
        """
        self.ping()
        what = ref.digest or ref.tag or "latest"
        answer = self._manifest_request("HEAD", ref, what)
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not digest.startswith("sha256:"):
            raise TargetError(f"registry {self.host} sent no Docker-Content-Digest for {ref}")
        if ref.digest and digest != ref.digest:
            raise IntegrityError(f"registry {self.host} reports {digest} for {ref}")
        return digest

    def push(self, sif: Path, ref: ImageReference) -> ImageRecord:
        """Push ``sif`` as an ORAS SIF artifact under ``ref``'s tag.

        Raises
        ------
        InputError
            If ``sif`` is not a SIF file or ``ref`` has no tag (or has a digest).
        IntegrityError
            If the digest the push answered differs from the one the tag then resolves to.
        """
        if ref.digest or not ref.tag:
            raise InputError(f"push needs a tag and no digest, e.g. oras://{ref.name}:1.0 "
                             "(the registry assigns the digest)", field="reference")
        if not sif.is_file() or not is_sif(sif):
            raise InputError("not a SIF image (no SIF_MAGIC header)", path=sif)
        self.ping()
        layer_digest = sha256_file(sif)
        with tempfile.TemporaryDirectory(prefix="repro-oras-") as tmp:
            config = Path(tmp) / "config.json"
            config.write_text("{}")
            try:
                answer = self.client.push(
                    target=f"{ref.name}:{ref.tag}",
                    files=[f"{sif.resolve()}:{SIF_LAYER_MEDIA_TYPE}"],
                    manifest_config=f"{config}:{SIF_CONFIG_MEDIA_TYPE}",
                    disable_path_validation=True, quiet=True)
            except (requests.RequestException, ValueError) as exc:
                raise TargetError(f"registry {self.host}: push of {sif.name} failed: "
                                  f"{exc}") from None
        pushed = answer.headers.get("Docker-Content-Digest", "")
        resolved = self.resolve(ref)
        if pushed and pushed != resolved:
            raise IntegrityError(f"registry {self.host}: push answered {pushed} but "
                                 f"{ref} resolves to {resolved}")
        return ImageRecord(reference=str(ref.by_digest(resolved)), digest=resolved,
                           layer_digest=layer_digest, size=sif.stat().st_size, tag=ref.tag,
                           path=str(sif))

    def manifest(self, ref: ImageReference) -> dict[str, Any]:
        """The manifest of a pinned reference, verified against its digest.

        Raises
        ------
        IntegrityError
            If the manifest bytes do not hash to the digest.
        """
        assert ref.digest is not None
        answer = self._manifest_request("GET", ref, ref.digest)
        actual = "sha256:" + hashlib.sha256(answer.content).hexdigest()
        if actual != ref.digest:
            raise IntegrityError(f"manifest of {ref} hashes to {actual}, not {ref.digest}")
        return json.loads(answer.content)

    def pull(self, ref: ImageReference, dest: Path) -> ImageRecord:
        """Download the SIF layer of pinned ``ref`` to ``dest``, verifying every hash.

        The file is written beside ``dest`` and renamed into place only after the manifest
        digest, the layer digest and size, and the SIF header all check out.

        Raises
        ------
        InputError
            If ``ref`` is not pinned or holds no SIF layer.
        IntegrityError
            If a hash, the size or the SIF header does not match.
        """
        if ref.digest is None:
            raise InputError(f"{ref}: pull needs a digest (resolve the tag first)",
                             field="reference")
        self.ping()
        manifest = self.manifest(ref)
        layers = [layer for layer in manifest.get("layers", [])
                  if layer.get("mediaType") == SIF_LAYER_MEDIA_TYPE]
        if len(layers) != 1:
            kinds = sorted({layer.get("mediaType", "?") for layer in manifest.get("layers", [])})
            raise InputError(f"{ref} holds {len(layers)} SIF layers (layer types: "
                             f"{', '.join(kinds) or 'none'}); expected exactly one",
                             field="reference")
        layer = layers[0]
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        try:
            try:
                self.client.download_blob(ref.name, layer["digest"], str(partial))
            except requests.RequestException as exc:
                raise TargetError(f"registry {self.host}: download of layer "
                                  f"{layer['digest']} failed: {exc}") from None
            size = partial.stat().st_size
            actual = sha256_file(partial)
            if actual != layer["digest"] or size != int(layer.get("size", size)):
                raise IntegrityError(f"SIF layer of {ref} hashes to {actual} ({size} bytes), "
                                     f"not {layer['digest']} ({layer.get('size')} bytes)")
            if not is_sif(partial):
                raise IntegrityError(f"layer {layer['digest']} of {ref} is not a SIF image")
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        return ImageRecord(reference=str(ref), digest=ref.digest, layer_digest=actual,
                           size=size, tag=ref.tag or "", path=str(dest))


def resolve_digest(reference: str, *, plain_http: bool | None = None) -> ImageRecord:
    """Resolve ``reference`` (tag or digest) to the manifest digest the registry reports."""
    ref = parse_registry_reference(reference)
    digest = Registry(ref.registry, plain_http=plain_http).resolve(ref)
    return ImageRecord(reference=str(ref.by_digest(digest)), digest=digest, tag=ref.tag or "")


def push_sif(sif: Path, reference: str, *, plain_http: bool | None = None) -> ImageRecord:
    """Push a SIF file to ``registry/repository:tag``; return its pinned reference."""
    ref = parse_registry_reference(reference)
    return Registry(ref.registry, plain_http=plain_http).push(Path(sif), ref)


def pull_sif(reference: str, dest: Path, *, allow_tag: bool = False,
             plain_http: bool | None = None) -> ImageRecord:
    """Pull a SIF by digest (or, with ``allow_tag``, by a tag resolved to its digest first).

    Raises
    ------
    InputError
        If ``reference`` names only a tag and ``allow_tag`` is false.
    """
    ref = parse_registry_reference(reference)
    registry = Registry(ref.registry, plain_http=plain_http)
    if ref.digest is None:
        if not allow_tag:
            raise InputError(f"{ref} names a tag only; pull by digest "
                             f"(oras://{ref.name}@sha256:...) or pass --allow-tag",
                             field="reference")
        tag = ref.tag or ""
        record = registry.pull(ref.by_digest(registry.resolve(ref)), Path(dest))
        return replace(record, tag=tag)
    return registry.pull(ref, Path(dest))
