"""Participant tokens: random, URL-safe, stored only as a hash."""

from __future__ import annotations

import hashlib

from survey.models import Participant
from survey.services import studies, tokens


def test_tokens_are_random_urlsafe_and_well_formed():
    generated = {tokens.generate_token() for _ in range(200)}
    assert len(generated) == 200
    for token in generated:
        assert len(token) == 43
        assert tokens.is_well_formed(token)


def test_hash_is_sha256_hex():
    assert tokens.hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_malformed_tokens():
    for token in ["", "short", "a" * 42, "a" * 44, "a" * 42 + "!", "a" * 42 + "\n", "ä" * 43]:
        assert not tokens.is_well_formed(token)


def test_find_participant_by_token_only_the_hash_is_stored(db_session, make_study, small):
    info = make_study(small)
    participant = tokens.find_participant(info.token)
    assert participant is not None
    assert participant.token_hash == tokens.hash_token(info.token)
    stored = [value for row in db_session.query(Participant).all() for value in vars(row).values()]
    assert info.token not in stored


def test_unknown_and_malformed_tokens_find_nobody(db_session, make_study, small):
    info = make_study(small)
    assert tokens.find_participant(tokens.generate_token()) is None
    assert tokens.find_participant(info.token[:-1]) is None
    assert tokens.find_participant(info.token + "x") is None
    assert tokens.find_participant("../../etc/passwd") is None


def test_add_participant_returns_the_token_once(db_session, make_study, small):
    info = make_study(small)
    study = studies.get_study(info.slug)
    participant, token = studies.add_participant(study)
    assert tokens.find_participant(token) is participant
