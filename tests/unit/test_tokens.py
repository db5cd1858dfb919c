"""Bearer-token checks at the bridge, with a key set served on loopback (no Keycloak needed
for these rules; the real Keycloak's tokens are used by the integration tests)."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.identity.ended_sessions import EndedSessions
from bridge.identity.tokens import LEEWAY_SECONDS, InvalidTokenError, TokenVerifier
from bridge.settings import REPO_ROOT

ISSUER = "http://127.0.0.1:1/realms/demarches"
KEY = RSAKey.generate_key(2048, parameters={"kid": "cle-1"})


# What the key server publishes; a test may replace it (a rotation) and put it back.
PUBLISHED = {"keys": json.dumps(KeySet([KEY]).as_dict(private=False)).encode()}


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(PUBLISHED["keys"])

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()
    server.server_close()


def token(**changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": ["bridge-api"],
        "sub": "personne",
        "exp": now + 60,
        "iat": now,
        "typ": "Bearer",
        "sid": "session-1",
        "email": "a@exemple.fr",
    }
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "cle-1"}, claims, KEY)


def test_a_valid_access_token_is_accepted(jwks_url: str) -> None:
    principal = TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(token())
    assert principal.subject == "personne"
    assert principal.operator is False


def test_a_token_of_a_session_ended_in_keycloak_is_refused(jwks_url: str) -> None:
    ended = EndedSessions()
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api", ended=ended)
    assert verifier.verify(token()).subject == "personne"
    ended.end("session-1")
    with pytest.raises(InvalidTokenError, match="session a été fermée"):
        verifier.verify(token())


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "ID"},
        {"aud": ["autre"]},
        {"iss": "http://ailleurs/realms/demarches"},
        {"exp": int(time.time()) - 60},
    ],
)
def test_tokens_that_are_not_ours_or_not_valid_now_are_refused(
    jwks_url: str, changes: dict[str, Any]
) -> None:
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(token(**changes))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hmac_signed_with_the_public_key_and_unsigned_tokens_are_refused(jwks_url: str) -> None:
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api")
    claims = {
        "iss": ISSUER,
        "aud": "bridge-api",
        "sub": "x",
        "exp": int(time.time()) + 60,
        "typ": "Bearer",
    }
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'kid': 'cle-1'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(KEY.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidTokenError):
        verifier.verify(f"{signing_input}.{_b64(signature)}")
    unsigned = f"{_b64(json.dumps({'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    with pytest.raises(InvalidTokenError):
        verifier.verify(unsigned)


def test_a_token_not_yet_valid_is_refused(jwks_url: str) -> None:
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(token(nbf=int(time.time()) + 600))


def signed_by(key: RSAKey, kid: str) -> str:
    """Our usual claims, signed by `key` under the key id `kid`."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "bridge-api", "sub": "x", "exp": now + 60, "typ": "Bearer"}
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def test_a_token_signed_by_another_key_under_our_key_id_is_refused(jwks_url: str) -> None:
    forged = signed_by(RSAKey.generate_key(2048), "cle-1")
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(forged)


def test_an_unknown_key_id_is_refused_after_one_refetch(jwks_url: str) -> None:
    unknown = signed_by(RSAKey.generate_key(2048), "cle-inconnue")
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ISSUER, jwks_url, "bridge-api", refetch_interval=0.01).verify(unknown)


def test_a_token_verified_once_is_still_refused_once_it_has_expired(jwks_url: str) -> None:
    """Its verification is remembered, not its validity: past `exp` (and the 5 s of leeway)
    the remembered claims are not believed."""
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api")
    # Accepted within the 5 s of leeway for one to two seconds (joserfc counts whole seconds).
    expiring = token(exp=int(time.time()) - 3)
    assert verifier.verify(expiring).subject == "personne"
    time.sleep(2.1)
    with pytest.raises(InvalidTokenError):
        verifier.verify(expiring)


def test_a_remembered_token_is_refused_at_the_very_second_a_fresh_one_would_be(
    jwks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """joserfc refuses once `exp <= now - leeway`; the remembered claims follow the same rule
    (the clock, shared by both, is moved to that second)."""
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api")
    expires = int(time.time()) + 100
    remembered = token(exp=expires)
    for _ in range(2):  # remembered, whichever call fetched the keys
        assert verifier.verify(remembered).subject == "personne"
    assert TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(remembered)
    monkeypatch.setattr(time, "time", lambda: float(expires + LEEWAY_SECONDS))
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ISSUER, jwks_url, "bridge-api").verify(remembered)
    with pytest.raises(InvalidTokenError):
        verifier.verify(remembered)


def test_an_unchanged_key_set_keeps_the_remembered_verifications(jwks_url: str) -> None:
    """An unknown `kid` forces a refetch; if the published keys did not change, what was
    verified stays (nobody can flush the memory of every caller with a made-up key id)."""
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api", refetch_interval=0.0)
    assert verifier.verify(token()).subject == "personne"
    with pytest.raises(InvalidTokenError):
        verifier.verify(signed_by(RSAKey.generate_key(2048), "cle-inconnue"))
    assert len(verifier._verified) == 1


def test_a_token_remembered_for_one_audience_is_refused_for_another(jwks_url: str) -> None:
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api")
    ours = token()
    assert verifier.verify(ours).subject == "personne"
    with pytest.raises(InvalidTokenError):
        verifier.verify(ours, audience="bridge-verifications")


def test_remembered_verifications_are_forgotten_when_the_published_keys_change(
    jwks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated key set may have dropped the key a remembered token was signed with: the
    token is then refused, remembered or not."""
    verifier = TokenVerifier(ISSUER, jwks_url, "bridge-api", refetch_interval=0.0)
    remembered = token()
    assert verifier.verify(remembered).subject == "personne"
    rotated = RSAKey.generate_key(2048, parameters={"kid": "cle-2"})
    monkeypatch.setitem(
        PUBLISHED, "keys", json.dumps(KeySet([rotated]).as_dict(private=False)).encode()
    )
    with pytest.raises(InvalidTokenError):  # unknown key id: the keys are refetched
        verifier.verify(signed_by(RSAKey.generate_key(2048), "cle-inconnue"))
    assert verifier._verified == {}
    with pytest.raises(InvalidTokenError):
        verifier.verify(remembered)


def test_only_the_api_caller_check_skips_the_verifiers_session_check() -> None:
    """`session_checked_by_caller` turns a refusal off: its one user reads the session
    itself (`AppContext.api_principal`); any other would lose the ended-session check."""
    users = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "bridge").rglob("*.py")
        if "session_checked_by_caller=True" in path.read_text(encoding="utf-8")
    ]
    assert users == ["bridge/bootstrap.py"]
    # `AppContext.api_token` and `remembered_api_token` hand out such a caller: the only
    # functions using them call `refuse_ended_or_disabled` before anyone acts (`api_principal`;
    # `checked_reads`, whose `CheckedReads` checks before it hands out an actor).
    assert _users_of({"api_token", "remembered_api_token"}) == {
        "bridge/bootstrap.py:AppContext.api_principal",
        "bridge/api/deps.py:checked_reads",
    }


def _users_of(attributes: set[str]) -> set[str]:
    """The functions of `bridge/` naming one of these attributes (`x.attribute`)."""
    return {
        f"{path.relative_to(REPO_ROOT).as_posix()}:{scope}"
        for path in (REPO_ROOT / "bridge").rglob("*.py")
        for scope in _scopes_naming(ast.parse(path.read_text(encoding="utf-8")), attributes, "")
    }


def _scopes_naming(node: ast.AST, attributes: set[str], scope: str) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _scopes_naming(
                child, attributes, f"{scope}.{child.name}" if scope else child.name
            )
            continue
        if isinstance(child, ast.Attribute) and child.attr in attributes:
            yield scope
        yield from _scopes_naming(child, attributes, scope)


def test_remembered_answers_from_memory_exactly_what_verify_would(
    jwks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event loop asks `remembered` before going to a thread for `verify`: nothing for a
    token never verified, for a session the verifier would have to read (unless its caller
    reads it), for another audience, past the expiry, or once the published keys changed."""
    verifier = TokenVerifier(
        ISSUER, jwks_url, "bridge-api", refetch_interval=0.0, ended=EndedSessions()
    )
    person = token()
    assert verifier.remembered(person, session_checked_by_caller=True) is None  # never seen
    assert verifier.verify(person, session_checked_by_caller=True).subject == "personne"
    assert verifier.remembered(person) is None  # its session is for the verifier to read
    found = verifier.remembered(person, session_checked_by_caller=True)
    assert found is not None
    assert found.subject == "personne"
    assert (
        verifier.remembered(person, "bridge-verifications", session_checked_by_caller=True) is None
    )

    expires = int(time.time()) + 100
    client = token(sid=None, sub="service-account-demarche", exp=expires)  # client credentials
    assert verifier.remembered(client) is None
    assert verifier.verify(client).subject == "service-account-demarche"
    found = verifier.remembered(client)
    assert found is not None
    assert found.subject == "service-account-demarche"
    with monkeypatch.context() as later:
        later.setattr(time, "time", lambda: float(expires + LEEWAY_SECONDS))
        assert verifier.remembered(client) is None  # `verify` refuses at that second too

    rotated = RSAKey.generate_key(2048, parameters={"kid": "cle-2"})
    monkeypatch.setitem(
        PUBLISHED, "keys", json.dumps(KeySet([rotated]).as_dict(private=False)).encode()
    )
    with pytest.raises(InvalidTokenError):  # forces a refetch: the new set forgets the old
        verifier.verify(signed_by(RSAKey.generate_key(2048), "cle-inconnue"))
    assert verifier.remembered(client) is None
