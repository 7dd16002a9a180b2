"""Fixtures of the API tests: a study with an API key (committed)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from survey.models import ApiScope


@dataclass(frozen=True)
class ApiStudy:
    slug: str
    study_id: int
    key: str  # all scopes unless asked otherwise
    key_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_key(app):
    """``make_key(study_id, scopes=ApiScope.ALL, **options)`` → (key id, key), committed."""
    from survey.extensions import db
    from survey.models import Study
    from survey.services import api_keys

    def make(study_id: int, scopes=ApiScope.ALL, **options) -> tuple[int, str]:
        with app.app_context():
            study = db.session.get(Study, study_id)
            api_key, key = api_keys.create_key(
                study,
                name=options.pop("name", "test platform"),
                scopes=scopes,
                actor=None,
                **options,
            )
            db.session.commit()
            return api_key.id, key

    return make


@pytest.fixture
def api_study(make_study, make_key, small) -> ApiStudy:
    """The small instrument's study (baseline open, week-4 closed), no participants yet
    beyond one made by the team, and a key with every scope."""
    info = make_study(small)
    key_id, key = make_key(info.study_id)
    return ApiStudy(slug=info.slug, study_id=info.study_id, key=key, key_id=key_id)
