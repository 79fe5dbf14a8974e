"""Agreements as code: compiled to Cedar on load; drafts never enforced; approval and retirement
audited and effective from the very next decision; a decision names the version it used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from kinfold.access import engine
from kinfold.access import services as access
from kinfold.access.policy import Action
from kinfold.agreements import cedar, services
from kinfold.agreements.documents import load_register
from kinfold.agreements.models import Agreement, AgreementEvent
from kinfold.audit.actors import Actor
from kinfold.audit.models import AuditEntry
from kinfold.errors import ConfigError
from kinfold.people.models import Family, FamilyMember
from kinfold.staff.models import User
from tests.factories import give_consent

REPO = Path(__file__).resolve().parents[2] / "agreements"
MAIN = "northfield-supporting-families.toml"
SLUG = "northfield-supporting-families"
DPO = Actor(kind="user", id="dpo.priya", role="dpo", organisation="northfield-council")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "agreements"
    shutil.copytree(REPO, target)
    return target


def set_status(folder: Path, status: str) -> None:
    path = folder / MAIN
    text = path.read_text()
    start = text.index('status = "')
    end = text.index('"', start + len('status = "'))
    path.write_text(text[:start] + f'status = "{status}' + text[end:])


def test_loading_compiles_each_version_and_records_its_history(db: None, folder: Path) -> None:
    report = services.load_folder(Actor.system("test", "run1"), folder)
    assert report.loaded == (f"{SLUG}@v1", f"{SLUG}@v2")
    v1, v2 = (Agreement.objects.get(slug=SLUG, version=v) for v in (1, 2))
    assert (v1.status, v2.status) == ("retired", "approved")
    assert v2.is_current
    assert not v1.is_current
    assert v2.policy_text.count("@id(") == len(v2.policies) == 18
    assert [e.kind for e in v2.events.all()] == ["loaded", "approved"]
    approved = AuditEntry.objects.get(event="agreement:approved")
    assert approved.resource == f"agreement:{SLUG}@v2"
    assert approved.details["policy_sha256"] == v2.policy_sha256
    again = services.load_folder(Actor.system("test", "run2"), folder)
    assert again.loaded == ()
    assert AgreementEvent.objects.count() == 3


def test_every_share_becomes_one_policy_with_its_terms(db: None) -> None:
    register = load_register(REPO)
    doc = next(d for d in register.agreements if d.version == 2)
    compiled = cedar.compile_agreement(doc, register)
    by_id = {p.policy_id: p for p in compiled.policies}
    health = by_id[f"{SLUG}@v2/service-coordination/3"]
    assert 'action == Kinfold::Action::"record:detail:view"' in health.text
    assert "(context.consent || context.override)" in health.text
    assert 'Kinfold::Organisation::"northfield-nhs-trust"' in health.text
    assert "only with the person's consent" in health.sentence
    safeguarding = by_id[f"{SLUG}@v2/safeguarding/2"]
    assert "context.override" in safeguarding.text
    assert "context.consent" not in safeguarding.text
    flags = by_id[f"{SLUG}@v2/identification/1"]
    assert '"family:flags:view"' in flags.text
    assert "context.consent" not in flags.text
    assert "context.override" not in flags.text


def test_a_draft_is_never_enforced_and_approval_takes_effect_at_once(
    folder: Path, key_worker: User, family: Family
) -> None:
    """(The shared `family` fixture loads the repository's folder; here v2 is retired and a
    copy edited as a draft v3 stands in, so the only candidate is a draft.)"""
    child = FamilyMember.objects.get(family=family, role="child").person
    give_consent(child, "northfield-schools", "education", by=key_worker)

    def allowed() -> bool:
        decision, _ = access.decide(
            key_worker,
            Action.VIEW_DETAIL,
            "service-coordination",
            family=family,
            person=child,
            provider="northfield-schools",
            category="education",
        )
        return decision.allowed

    assert allowed()
    services.retire(DPO, SLUG, 2, "superseded by a draft under review")
    assert not allowed(), "a retired version stops being enforced at once"
    path = folder / MAIN
    path.write_text(path.read_text().replace("version = 2", "version = 3", 1))
    set_status(folder, "draft")
    services.load_folder(Actor.system("test", "draft"), folder)
    assert Agreement.objects.get(slug=SLUG, version=3).status == "draft"
    assert not allowed(), "a draft is never enforced"
    services.approve(DPO, SLUG, 3, "signed by every party")
    decision, entry = access.decide(
        key_worker,
        Action.VIEW_DETAIL,
        "service-coordination",
        family=family,
        person=child,
        provider="northfield-schools",
        category="education",
    )
    assert decision.allowed
    assert decision.agreement == f"{SLUG}@v3"
    assert entry.details["policies"] == [f"{SLUG}@v3/service-coordination/1"]
    assert AuditEntry.objects.filter(event="agreement:retired", resource=f"agreement:{SLUG}@v2")
    assert AuditEntry.objects.filter(event="agreement:approved", resource=f"agreement:{SLUG}@v3")


def test_approving_a_version_retires_the_one_it_replaces(db: None, folder: Path) -> None:
    services.load_folder(Actor.system("test", "first"), folder)
    path = folder / MAIN
    path.write_text(path.read_text().replace("version = 2", "version = 3", 1))
    services.load_folder(Actor.system("test", "second"), folder)
    statuses = dict(Agreement.objects.filter(slug=SLUG).values_list("version", "status"))
    assert statuses == {1: "retired", 2: "retired", 3: "approved"}
    assert [a.label for a in services.enforced()] == [f"{SLUG}@v3"]
    note = AgreementEvent.objects.get(agreement__version=2, kind="retired").note
    assert note == "replaced by version 3"


def test_a_file_may_move_its_status_forward_but_not_change_its_text(db: None, folder: Path) -> None:
    set_status(folder, "draft")
    services.load_folder(Actor.system("test", "a"), folder)
    assert Agreement.objects.get(slug=SLUG, version=2).status == "draft"
    set_status(folder, "approved")
    services.load_folder(Actor.system("test", "b"), folder)
    assert Agreement.objects.get(slug=SLUG, version=2).status == "approved"
    set_status(folder, "draft")  # behind the register: nothing changes
    services.load_folder(Actor.system("test", "c"), folder)
    assert Agreement.objects.get(slug=SLUG, version=2).status == "approved"
    path = folder / MAIN
    path.write_text(
        path.read_text().replace("review_date = 2027-11-30", "review_date = 2028-11-30")
    )
    with pytest.raises(ConfigError, match="already loaded with different text"):
        services.load_folder(Actor.system("test", "d"), folder)


def test_only_a_draft_is_approved_and_retiring_twice_is_an_error(db: None, folder: Path) -> None:
    services.load_folder(Actor.system("test", "a"), folder)
    with pytest.raises(ConfigError, match="only a draft"):
        services.approve(DPO, SLUG, 2)
    services.retire(DPO, SLUG, 2, "ending the programme")
    with pytest.raises(ConfigError, match="already retired"):
        services.retire(DPO, SLUG, 2)
    with pytest.raises(ConfigError, match="no agreement"):
        services.approve(DPO, SLUG, 9)
    history = AgreementEvent.objects.filter(agreement__version=2).order_by("id")
    assert [(e.kind, e.actor) for e in history][-1] == ("retired", "dpo")


def test_a_version_loaded_before_policies_were_generated_is_compiled(
    db: None, folder: Path
) -> None:
    services.load_folder(Actor.system("test", "a"), folder)
    Agreement.objects.filter(slug=SLUG).update(policy_text="", policy_sha256="", policies=[])
    engine.clear_cache()
    assert access.policy_snapshot().labels == (), "no policy text: nothing is permitted"
    services.load_folder(Actor.system("test", "b"), folder)
    assert access.policy_snapshot().labels == (f"{SLUG}@v2",)
    assert AgreementEvent.objects.filter(kind="compiled").count() == 2


def test_the_command_prints_the_enforced_policy(
    db: None, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("agreements", "load", "--folder", str(folder))
    call_command("agreements", "policy", SLUG)
    out = capsys.readouterr().out
    assert f'@id("{SLUG}@v2/safeguarding/1")' in out
    call_command("agreements", "retire", SLUG, "2", "--note", "test", "--by", "dpo")
    assert Agreement.objects.get(slug=SLUG, version=2).status == "retired"


def test_a_slug_that_cannot_be_named_in_a_policy_is_refused(folder: Path) -> None:
    vocabulary = folder / "vocabulary.toml"
    vocabulary.write_text(
        vocabulary.read_text().replace("[categories.health]", '[categories."Health Data"]')
    )
    with pytest.raises(ConfigError, match="lower-case letters"):
        load_register(folder)
