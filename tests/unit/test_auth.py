"""Bearer-token verification without a server: the key sources (dev HS256 secret, PEM public key,
JWKS file), the claims a token must carry, and the local token minter."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.common import tokens
from services.common.auth import AuthError, Principal, TokenVerifier
from services.common.settings import CommonSettings

SETTINGS = CommonSettings()


def pem_pair(kind: str) -> tuple[bytes, bytes]:
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    return caught.value.rule


def test_a_dev_token_verifies_into_a_principal_with_its_scoping_claims() -> None:
    token = tokens.mint(
        SETTINGS,
        roles=["clinician", "not_a_role"],
        subject="clin-1",
        units=["Oak Ward"],
        provider="RXX",
        identifiable=True,
    )
    principal = TokenVerifier(SETTINGS).verify(token)
    assert principal == Principal(
        subject="clin-1",
        roles=frozenset({"clinician"}),
        units=("Oak Ward",),
        provider="RXX",
        identifiable=True,
    )


def test_a_token_without_iat_is_refused() -> None:
    body = tokens.claims(SETTINGS, roles=["admin"])
    del body["iat"]
    secret = SETTINGS.auth_dev_hs256_secret.get_secret_value()  # type: ignore[union-attr]
    assert refused(TokenVerifier(SETTINGS), jwt.encode(body, secret)) == "claim_required"


def test_claims_of_the_wrong_type_are_refused() -> None:
    token = tokens.mint(SETTINGS, roles=["admin"], identifiable="yes")
    assert refused(TokenVerifier(SETTINGS), token) == "claims_typed"


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_pem_public_key_verifies_tokens_signed_with_its_private_key(
    tmp_path: Path, kind: str
) -> None:
    private, public = pem_pair(kind)
    (tmp_path / "public.pem").write_bytes(public)
    settings = SETTINGS.model_copy(update={"auth_public_key_file": str(tmp_path / "public.pem")})
    body = tokens.claims(settings, roles=["regulator"], subject="cqc-1")
    token = tokens.sign(settings, body, private)
    assert jwt.get_unverified_header(token)["alg"] == ("RS256" if kind == "rsa" else "ES256")
    assert TokenVerifier(settings).verify(token).roles == {"regulator"}
    other, _ = pem_pair(kind)
    assert refused(TokenVerifier(settings), tokens.sign(settings, body, other)) == "signature"


def test_with_a_public_key_configured_the_dev_hs256_secret_is_not_accepted(
    tmp_path: Path,
) -> None:
    _, public = pem_pair("rsa")
    (tmp_path / "public.pem").write_bytes(public)
    settings = SETTINGS.model_copy(update={"auth_public_key_file": str(tmp_path / "public.pem")})
    assert TokenVerifier(settings).source() == "public_key"
    dev_token = tokens.mint(settings, roles=["admin"])
    assert refused(TokenVerifier(settings), dev_token) == "algorithm"


def test_a_jwks_file_verifies_tokens_by_key_id(tmp_path: Path) -> None:
    private, _ = pem_pair("rsa")
    key = serialization.load_pem_private_key(private, password=None)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[arg-type]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}))
    settings = SETTINGS.model_copy(update={"auth_jwks": str(tmp_path / "jwks.json")})
    body = tokens.claims(settings, roles=["governance"], provider="RXX")
    verifier = TokenVerifier(settings)
    assert verifier.verify(tokens.sign(settings, body, private, kid="k1")).provider == "RXX"
    assert refused(verifier, tokens.sign(settings, body, private, kid="k2")) == "key_id"


def test_without_any_key_every_token_is_refused() -> None:
    settings = SETTINGS.model_copy(update={"auth_dev_hs256_secret": None})
    assert refused(TokenVerifier(settings), tokens.mint(SETTINGS, roles=["admin"])) == (
        "no_key_configured"
    )


def test_the_cli_prints_a_token_the_services_accept(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["mint", "--role", "clinician", "--unit", "Oak Ward", "--unit", "Birch Ward"]
    assert tokens.main([*args, "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(SETTINGS).verify(token)
    assert principal.units == ("Oak Ward", "Birch Ward")
    assert jwt.decode(token, options={"verify_signature": False})["exp"] <= time.time() + 61


def test_a_service_reachable_beyond_loopback_refuses_the_built_in_dev_secret() -> None:
    from pydantic import SecretStr

    from services.common.auth import check_key_configuration
    from services.common.settings import CommonSettings

    check_key_configuration(CommonSettings())  # loopback: the local stack may use it
    with pytest.raises(RuntimeError, match="no token key is configured"):
        check_key_configuration(CommonSettings(http_host="api.example.org"))
    own = SecretStr("a-secret-of-this-deployment-only-0123456789")
    check_key_configuration(CommonSettings(http_host="api.example.org", auth_dev_hs256_secret=own))


class _Clock:
    """The auth module's clock, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr("services.common.auth.time.time", lambda: self.now)


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = jwt.decode

    def decode(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr("services.common.auth.jwt.decode", decode)
    return calls


def test_a_verified_token_is_reused_for_the_cache_time_then_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, calls = _Clock(monkeypatch), _counting_decode(monkeypatch)
    verifier = TokenVerifier(SETTINGS.model_copy(update={"auth_verified_cache_seconds": 60}))
    token = tokens.mint(SETTINGS, roles=["clinical_app"], subject="app-1")
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert len(calls) == 1
    clock.now += 61
    assert verifier.verify(token) == first
    assert len(calls) == 2


def test_a_cached_token_is_checked_again_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, calls = _Clock(monkeypatch), _counting_decode(monkeypatch)
    verifier = TokenVerifier(SETTINGS.model_copy(update={"auth_verified_cache_seconds": 300}))
    token = tokens.mint(SETTINGS, roles=["clinical_app"], ttl_seconds=10, now=clock.now)
    verifier.verify(token)
    clock.now += 9
    verifier.verify(token)
    assert len(calls) == 1
    clock.now += 2  # past exp: the signature and exp are checked again (and PyJWT decides)
    verifier.verify(token)
    assert len(calls) == 2


def test_no_cache_verifies_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_decode(monkeypatch)
    verifier = TokenVerifier(SETTINGS.model_copy(update={"auth_verified_cache_seconds": 0}))
    token = tokens.mint(SETTINGS, roles=["clinical_app"])
    verifier.verify(token)
    verifier.verify(token)
    assert len(calls) == 2


def test_a_refused_token_is_not_remembered() -> None:
    verifier = TokenVerifier(SETTINGS)
    token = tokens.mint(SETTINGS, roles=["clinical_app"])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert refused(verifier, forged) == "signature"
    assert refused(verifier, forged) == "signature"
