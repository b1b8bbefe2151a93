"""Access tokens of the unicore target: from the environment, checked, never stored."""

from __future__ import annotations

import sys

import pytest

from repro.errors import AuthenticationError, TargetError
from repro.targets.base import JobState
from repro.targets.tokens import find_token, token_expiry
from tests.targets.jobs import wait_terminal
from tests.unicore.helpers import make_bundle, make_target

pytestmark = pytest.mark.infra


def test_an_expired_token_is_refused_before_any_request(unicore_site, unicore_token,
                                                         monkeypatch, tmp_path):
    monkeypatch.setenv("UNICORE_TOKEN", unicore_site.token(lifetime=-60))
    target = make_target(unicore_site, "native")
    with pytest.raises(AuthenticationError, match=r"token from \$UNICORE_TOKEN expired at"):
        target.submit(make_bundle(target, tmp_path / "bundle"))
    assert unicore_site.requests() == []


def test_a_token_the_site_rejects_gives_one_authentication_error(unicore_site, unicore_token,
                                                                 tmp_path):
    unicore_site.faults(reject_tokens=True)
    target = make_target(unicore_site, "native")
    with pytest.raises(AuthenticationError) as caught:
        target.submit(make_bundle(target, tmp_path / "bundle"))
    assert "rejected the access token (Authentication failed: the access token has " \
           "expired)" in str(caught.value)
    assert unicore_token not in str(caught.value)
    assert len(unicore_site.requests()) == 1  # no retries of a 403


@pytest.mark.slow
def test_a_token_that_expires_while_the_job_runs_stops_the_polling_clearly(
        unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    unicore_site.faults(reject_tokens=True, drop_sessions=True)
    with pytest.raises(AuthenticationError, match="rejected the access token"):
        target.status(handle)
    outcomes = [r["outcome"] for r in unicore_site.requests()]
    assert outcomes[-2:] == [432, 403]  # the session was forgotten, then the token refused
    unicore_site.reset()
    assert wait_terminal(target, handle).state is JobState.DONE


def test_no_token_anywhere_names_the_variables(unicore_site, monkeypatch, tmp_path):
    monkeypatch.delenv("UNICORE_TOKEN", raising=False)
    monkeypatch.delenv("EBRAINS_TOKEN", raising=False)
    target = make_target(unicore_site, "native")
    with pytest.raises(AuthenticationError, match=r"\$UNICORE_TOKEN or \$EBRAINS_TOKEN"):
        target.check()


def test_the_token_variable_option_names_another_variable(unicore_site, monkeypatch):
    monkeypatch.delenv("UNICORE_TOKEN", raising=False)
    monkeypatch.setenv("MY_SITE_TOKEN", unicore_site.token())
    target = make_target(unicore_site, "native", token_variable="MY_SITE_TOKEN")
    assert "user demouser" in target.check()


def test_ebrains_token_is_used_when_unicore_token_is_absent(unicore_site, monkeypatch):
    monkeypatch.delenv("UNICORE_TOKEN", raising=False)
    monkeypatch.setenv("EBRAINS_TOKEN", unicore_site.token())
    assert find_token("t")[1] == "$EBRAINS_TOKEN"
    assert "role user" in make_target(unicore_site, "native").check()


def test_a_self_signed_site_is_refused_without_its_ca(unicore_site, unicore_token):
    target = make_target(unicore_site, "native", ca_bundle="", attempts=1)
    with pytest.raises(TargetError, match="give its CA in ca_bundle"):
        target.check()


def test_registry_over_tls_leads_to_the_site(unicore_site, unicore_token):
    target = make_target(unicore_site, "native", url="", registry=unicore_site.registry_url,
                         site="DEMO-SITE")
    summary = target.check()
    assert summary.startswith("UNICORE 10.1.0 site DEMO-SITE at https://127.0.0.1:")
    missing = make_target(unicore_site, "native", url="",
                          registry=unicore_site.registry_url, site="OTHER-SITE")
    with pytest.raises(TargetError, match=r"site 'OTHER-SITE' is not in the registry "
                                          r"\(sites: DEMO-SITE\)"):
        missing.check()


def test_token_expiry_reads_the_jwt_exp_claim(unicore_site):
    assert token_expiry(unicore_site.token(lifetime=-5)) is not None
    assert token_expiry("opaque-token") is None
    assert token_expiry("a.b.c") is None


def test_the_ebrains_jupyterlab_helper_supplies_the_token(unicore_site, monkeypatch, tmp_path):
    monkeypatch.delenv("UNICORE_TOKEN", raising=False)
    monkeypatch.delenv("EBRAINS_TOKEN", raising=False)
    package = tmp_path / "lab" / "clb_nb_utils"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "oauth.py").write_text(
        "import os\n\ndef get_token():\n    return os.environ['LAB_SESSION_TOKEN']\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lab"))
    monkeypatch.setenv("LAB_SESSION_TOKEN", unicore_site.token())
    try:
        assert find_token("t")[1] == "the EBRAINS JupyterLab token helper"
        assert "user demouser" in make_target(unicore_site, "native").check()
    finally:  # later tests must not find this stand-in helper
        for module in ("clb_nb_utils.oauth", "clb_nb_utils"):
            sys.modules.pop(module, None)
