"""Apptainer command lines for container runs: pull an image by digest, exec the harness in it.

Pure functions over strings: nothing here runs a container. Targets (``unicore`` container
mode, ``slurm`` with an image) join the argument lists into their job scripts. An image is
referenced by digest (``oras://registry/name@sha256:…``) so that the run records exactly what
it ran; a tag-only reference is refused unless the caller explicitly allows it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from repro.errors import InputError

#: URI schemes ``apptainer pull`` understands and repro accepts.
SCHEMES = ("oras", "docker", "library")
#: Environment variable through which the harness learns the digest of its image.
DIGEST_VARIABLE = "REPRO_CONTAINER_DIGEST"
#: Environment variable naming the image (reference as pulled) for the manifest.
IMAGE_VARIABLE = "REPRO_CONTAINER_IMAGE"
#: Environment variable naming the container runtime for the manifest.
RUNTIME_VARIABLE = "REPRO_CONTAINER_RUNTIME"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REFERENCE = re.compile(
    r"^(?P<scheme>[a-z]+)://"
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._:/-]*?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>[a-z0-9]+:[0-9a-fA-F]+))?$"
)


@dataclass(frozen=True)
class ImageReference:
    """A parsed container image reference.

    Attributes
    ----------
    scheme : str
        ``oras``, ``docker`` or ``library``.
    name : str
        Registry host (with port) and repository path, e.g. ``127.0.0.1:5000/repro/nest``.
    tag : str or None
        Tag, if the reference carries one.
    digest : str or None
        ``sha256:<64 hex>`` manifest digest, if the reference carries one.
    """

    scheme: str
    name: str
    tag: str | None = None
    digest: str | None = None

    @property
    def pinned(self) -> bool:
        """True when the reference names a digest."""
        return self.digest is not None

    @property
    def registry(self) -> str:
        """Registry host (``host[:port]``): the first path component of ``name``."""
        return self.name.split("/", 1)[0]

    @property
    def repository(self) -> str:
        """Repository path inside the registry."""
        return self.name.split("/", 1)[1] if "/" in self.name else self.name

    def by_digest(self, digest: str) -> ImageReference:
        """The same image pinned to ``digest`` (the tag is dropped)."""
        return ImageReference(self.scheme, self.name, None, _check_digest(digest, "digest"))

    def __str__(self) -> str:
        text = f"{self.scheme}://{self.name}"
        if self.tag and not self.digest:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _check_digest(digest: str, field: str) -> str:
    if not _DIGEST.match(digest):
        raise InputError(f"{digest!r} is not a sha256 digest (sha256:<64 lowercase hex>)",
                         field=field)
    return digest


def parse_image_reference(reference: str, *, field: str = "image") -> ImageReference:
    """Parse ``scheme://registry/name[:tag][@sha256:…]``.

    Parameters
    ----------
    reference : str
        The reference as written in a target table.
    field : str
        Option name reported in errors.

    Returns
    -------
    ImageReference

    Raises
    ------
    InputError
        If the scheme is unknown, the name is malformed, or the digest is not sha256.

    Examples
    --------
    >>> ref = parse_image_reference("oras://127.0.0.1:5000/repro/nest@sha256:" + "0" * 64)
    >>> ref.registry, ref.repository, ref.pinned
    ('127.0.0.1:5000', 'repro/nest', True)
    """
    match = _REFERENCE.match(reference.strip())
    if match is None:
        raise InputError(f"{reference!r} is not an image reference "
                         "(expected scheme://registry/name[:tag][@sha256:...])", field=field)
    scheme = match["scheme"]
    if scheme not in SCHEMES:
        raise InputError(f"image scheme {scheme!r} is not supported (use one of "
                         f"{', '.join(SCHEMES)})", field=field)
    name = match["name"].rstrip("/")
    if "//" in name or name.endswith(":") or (scheme == "oras" and "/" not in name):
        raise InputError(f"{reference!r} has a malformed image name (expected "
                         "registry/repository)", field=field)
    digest = match["digest"]
    if digest is not None:
        _check_digest(digest, field)
    return ImageReference(scheme, name, match["tag"], digest)


def require_pinned(reference: str | ImageReference, *, allow_tag: bool = False,
                   field: str = "image") -> ImageReference:
    """Return the parsed reference, refusing a tag-only one unless ``allow_tag``.

    Raises
    ------
    InputError
        If the reference has no digest and ``allow_tag`` is false.
    """
    ref = reference if isinstance(reference, ImageReference) else parse_image_reference(
        reference, field=field)
    if not ref.pinned and not allow_tag:
        raise InputError(
            f"image {ref} is referenced by tag only; pin it by digest "
            f"({ref.scheme}://{ref.name}@sha256:...; `repro containers digest` resolves a "
            "tag) or set allow_tag = true in the target", field=field)
    return ref


def pull_argv(reference: str | ImageReference, sif_path: str, *, allow_tag: bool = False,
              apptainer: str = "apptainer") -> list[str]:
    """``apptainer pull`` of ``reference`` into ``sif_path`` (overwriting a stale file).

    Examples
    --------
    >>> pull_argv("oras://reg:5000/repro/nest@sha256:" + "a" * 64, "image.sif")[:3]
    ['apptainer', 'pull', '--force']
    """
    ref = require_pinned(reference, allow_tag=allow_tag)
    return [apptainer, "pull", "--force", sif_path, str(ref)]


def exec_argv(sif_path: str, command: Sequence[str], *, env: Mapping[str, str] | None = None,
              binds: Sequence[str] = (), pwd: str | None = None, sharens: bool = True,
              srun: bool = True, mpi: str = "pspmix", srun_options: Sequence[str] = (),
              apptainer: str = "apptainer") -> list[str]:
    """``[srun --mpi=…] apptainer exec [--sharens] … image.sif command…``.

    Parameters
    ----------
    sif_path : str
        The image file (pulled by :func:`pull_argv`).
    command : sequence of str
        Command run inside the container.
    env : mapping, optional
        Variables set inside the container (``--env KEY=VALUE``).
    binds : sequence of str
        Host paths bind-mounted into the container (``--bind``).
    pwd : str, optional
        Working directory inside the container.
    sharens : bool
        Share one container instance between the ranks of a step (Apptainer ``--sharens``).
    srun : bool
        Launch through ``srun`` (a compute-node step) rather than directly.
    mpi : str
        ``srun --mpi`` plugin (``pspmix`` at ParaStation sites, ``pmix`` elsewhere); empty
        for none.
    srun_options : sequence of str
        Further ``srun`` options (``--ntasks=4``).
    apptainer : str
        Name or path of the Apptainer executable.
    """
    argv: list[str] = []
    if srun:
        argv += ["srun"] + ([f"--mpi={mpi}"] if mpi else []) + list(srun_options)
    argv += [apptainer, "exec"]
    if sharens:
        argv.append("--sharens")
    for path in binds:
        argv += ["--bind", path]
    if pwd:
        argv += ["--pwd", pwd]
    for key, value in sorted((env or {}).items()):
        argv += ["--env", f"{key}={value}"]
    argv.append(sif_path)
    argv += list(command)
    return argv


def harness_exec_argv(sif_path: str, reference: str | ImageReference, bundle_dir: str, *,
                      harness_argv: Sequence[str], harness_env: Mapping[str, str],
                      allow_tag: bool = False, **options: object) -> list[str]:
    """Command line that runs the harness of a bundle inside the pulled image.

    The bundle directory is bind-mounted and made the working directory; the image
    reference and (when pinned) its digest are passed to the harness through
    ``REPRO_CONTAINER_IMAGE`` / ``REPRO_CONTAINER_DIGEST`` so the environment manifest
    records the digest that was pulled. Further keyword options go to :func:`exec_argv`.
    """
    ref = require_pinned(reference, allow_tag=allow_tag)
    env = {**harness_env, IMAGE_VARIABLE: str(ref), RUNTIME_VARIABLE: "apptainer"}
    if ref.digest:
        env[DIGEST_VARIABLE] = ref.digest
    return exec_argv(sif_path, list(harness_argv), env=env, binds=[bundle_dir],
                     pwd=bundle_dir, **options)  # type: ignore[arg-type]


def shell_line(argv: Sequence[str]) -> str:
    """Quote an argument list for a POSIX shell script."""
    return shlex.join(list(argv))
