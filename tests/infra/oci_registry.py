"""A real OCI registry (Debian ``docker-registry``) on 127.0.0.1, plus real SIF files.

The registry serves plain HTTP on a free loopback port with its storage under one base
directory; it is a child process stopped by PID. :func:`build_sif` makes a genuine SIF image
(a squashfs system partition built by ``mksquashfs``, wrapped by Debian's ``siftool``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.infra.slurm_cluster import free_port

REGISTRY_BINARY = "docker-registry"
SIF_BINARIES = ("siftool", "mksquashfs")


class RegistryError(RuntimeError):
    """The registry could not be started."""


def missing(binaries: tuple[str, ...]) -> list[str]:
    """The executables of ``binaries`` this machine lacks."""
    return [name for name in binaries if shutil.which(name) is None]


class OciRegistry:
    """``docker-registry serve`` on ``127.0.0.1:<free port>``.

    Attributes
    ----------
    host : str
        ``127.0.0.1:<port>``, the registry part of image references.
    storage : Path
        Filesystem storage root (blobs live under ``docker/registry/v2/blobs``).
    startup_seconds : float
        Wall time until ``GET /v2/`` answered 200.
    """

    def __init__(self, base: Path) -> None:
        self.base = Path(base).resolve()
        self.storage = self.base / "storage"
        self.config_path = self.base / "config.yml"
        self.port = 0
        self.startup_seconds = float("nan")
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def host(self) -> str:
        """``host:port`` of the registry."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the registry API."""
        return f"http://{self.host}"

    def blob_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps the blob ``sha256:<hex>``."""
        hex_digest = digest.split(":", 1)[1]
        return (self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
                / hex_digest[:2] / hex_digest / "data")

    def start(self, timeout: float = 20.0) -> OciRegistry:
        """Write the configuration, start the registry and wait until it answers."""
        t0 = time.perf_counter()
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config_path.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n")
        binary = shutil.which(REGISTRY_BINARY)
        if binary is None:
            raise RegistryError("docker-registry not found (Debian package docker-registry)")
        self._log = (self.base / "registry.log").open("ab")
        self._process = subprocess.Popen(
            [binary, "serve", str(self.config_path)], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RegistryError(f"docker-registry exited with {self._process.returncode}; "
                                    f"see {self.base / 'registry.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        self.startup_seconds = time.perf_counter() - t0
                        return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        self.stop()
        raise RegistryError(f"docker-registry did not answer within {timeout} s")

    def stop(self) -> None:
        """Stop the registry by PID."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> OciRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_sif(dest: Path, files: dict[str, bytes], *, definition: str | None = None) -> Path:
    """Build a real SIF image at ``dest`` whose system partition holds ``files``.

    Parameters
    ----------
    dest : Path
        The ``.sif`` file to create.
    files : dict
        ``{path inside the image: content}``.
    definition : str, optional
        Definition-file text stored as the image's ``Deffile`` object.
    """
    work = dest.parent / f".{dest.name}.build"
    root = work / "rootfs"
    for relative, content in files.items():
        path = root / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    squashfs = work / "rootfs.squashfs"
    subprocess.run(["mksquashfs", str(root), str(squashfs), "-noappend", "-no-progress",
                    "-quiet", "-all-root"], check=True, capture_output=True)
    subprocess.run(["siftool", "new", str(dest)], check=True, capture_output=True)
    if definition is not None:
        deffile = work / "container.def"
        deffile.write_text(definition)
        subprocess.run(["siftool", "add", str(dest), str(deffile), "--datatype", "1"],
                       check=True, capture_output=True)
    subprocess.run(["siftool", "add", str(dest), str(squashfs), "--datatype", "4",
                    "--parttype", "1", "--partfs", "1", "--partarch", "2"],
                   check=True, capture_output=True)
    shutil.rmtree(work)
    return dest
