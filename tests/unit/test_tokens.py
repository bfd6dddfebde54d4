"""The tokens file: digests only, project scopes, reloading, and refusing a broken file."""
import pytest
import yaml

from app.access.tokens import TokenFileError, TokenRegistry, digest_of, parse_tokens

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"


def write(path, entries):
    path.write_text(yaml.safe_dump({"tokens": entries}))


@pytest.fixture
def tokens_file(tmp_path):
    path = tmp_path / "tokens.yaml"
    write(path, [{"name": "team", "sha256": digest_of("s3cret").hex(), "projects": [PROJECT]},
                 {"name": "ops", "sha256": digest_of("root").hex(), "projects": "*"}])
    return path


def test_tokens_are_matched_by_digest_and_scoped(tokens_file):
    registry = TokenRegistry(tokens_file)

    team, ops = registry.authenticate("s3cret"), registry.authenticate("root")

    assert team.name == "team" and team.allows(PROJECT) and not team.allows("0" * 32)
    assert ops.allows("0" * 32)
    assert registry.authenticate("S3CRET") is None and registry.authenticate("") is None


def test_dashed_project_ids_in_the_file_are_normalized(tmp_path):
    path = tmp_path / "tokens.yaml"
    dashed = "4f1c3d0e-8a6b-4c2f-9e7d-5b3a1c0e2f4d"
    write(path, [{"name": "t", "sha256": digest_of("x").hex(), "projects": [dashed]}])

    assert TokenRegistry(path).authenticate("x").allows(PROJECT)


def test_a_changed_file_is_reread_and_a_broken_one_is_ignored(tokens_file):
    now = [0.0]
    registry = TokenRegistry(tokens_file, check_interval=2.0, clock=lambda: now[0])
    write(tokens_file, [{"name": "new", "sha256": digest_of("fresh").hex(), "projects": "*"}])

    assert registry.authenticate("fresh") is None  # not checked again before the interval
    now[0] = 3.0
    assert registry.authenticate("fresh").name == "new" and registry.authenticate("root") is None

    tokens_file.write_text("tokens: [ {broken")
    now[0] = 6.0
    assert registry.authenticate("fresh").name == "new"  # the previous tokens stay in force


@pytest.mark.parametrize("entry, message", [
    ({"sha256": "ab" * 32, "projects": "*"}, "'name' is required"),
    ({"name": "t", "sha256": "xyz", "projects": "*"}, "64 hex digits"),
    ({"name": "t", "sha256": "ab" * 32, "projects": []}, "non-empty list"),
    ({"name": "t", "sha256": "ab" * 32, "projects": ["prod"]}, "UUID"),
])
def test_bad_entries_are_refused_saying_where(entry, message):
    with pytest.raises(TokenFileError, match=message):
        parse_tokens(yaml.safe_dump({"tokens": [entry]}))


def test_a_token_never_appears_in_repr(tokens_file):
    team = TokenRegistry(tokens_file).authenticate("s3cret")

    assert "s3cret" not in repr(team) and digest_of("s3cret").hex() not in repr(team)
