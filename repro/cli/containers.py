"""``repro containers digest|push|pull``: SIF images in OCI registries, pinned by digest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from repro.cli.common import JsonOption, console, print_json

if TYPE_CHECKING:
    from repro.containers.registry import ImageRecord

containers_app = typer.Typer(
    help="Push SIF images to an OCI registry (ORAS), resolve tags to digests, pull by digest.",
    no_args_is_help=True)

PLAIN_HTTP = typer.Option(
    None, "--plain-http/--tls",
    help="Talk HTTP or HTTPS to the registry (default: HTTP only for loopback registries).",
    show_default=False)


def _show(record: ImageRecord, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(record.to_dict())
        return
    console.print(f"{verb} {record.reference}", highlight=False, soft_wrap=True)
    if record.path:
        console.print(f"  file   {record.path} ({record.size} bytes, {record.layer_digest})",
                      highlight=False, soft_wrap=True)


@containers_app.command("digest")
def digest(
    reference: str = typer.Argument(
        ..., help="registry/repository:tag (oras:// optional), e.g. reg:5000/repro/nest:3.10"),
    plain_http: bool | None = PLAIN_HTTP,
    as_json: JsonOption = False,
) -> None:
    """Resolve a tag to the manifest digest the registry reports; print the pinned reference.

    Put the printed oras://...@sha256:... reference into a target's image option.
    """
    from repro.containers.registry import resolve_digest  # requests: only when used

    _show(resolve_digest(reference, plain_http=plain_http), as_json, "pinned")


@containers_app.command("push")
def push(
    sif: Path = typer.Argument(..., help="The SIF image file.", show_default=False),
    reference: str = typer.Argument(..., help="registry/repository:tag to push to."),
    plain_http: bool | None = PLAIN_HTTP,
    as_json: JsonOption = False,
) -> None:
    """Push a SIF image as an ORAS artifact; print the digest the registry assigned."""
    from repro.containers.registry import push_sif

    _show(push_sif(sif, reference, plain_http=plain_http), as_json, "pushed")


@containers_app.command("pull")
def pull(
    reference: str = typer.Argument(..., help="registry/repository@sha256:... to pull."),
    output: Path = typer.Option(Path("image.sif"), "--output", "-o",
                                help="Where to write the SIF file."),
    allow_tag: bool = typer.Option(
        False, "--allow-tag", help="Accept a tag-only reference (resolved to its digest first)."),
    plain_http: bool | None = PLAIN_HTTP,
    as_json: JsonOption = False,
) -> None:
    """Pull a SIF image by digest and verify manifest, layer hash and SIF header."""
    from repro.containers.registry import pull_sif

    _show(pull_sif(reference, output, allow_tag=allow_tag, plain_http=plain_http), as_json,
          "pulled")


def register(app: typer.Typer) -> None:
    """Add ``repro containers``."""
    app.add_typer(containers_app, name="containers")
