"""Who is calling: OAuth2 bearer JWTs verified once, for every service, as FastAPI dependencies.

``current_principal`` checks a token's signature, issuer, audience, expiry and issue time against
the keys in the settings (a JWKS, else a PEM public key, else — local/dev only — an HS256 shared
secret) and turns its claims into a ``Principal``; ``require_roles`` adds the role check.
``create_service_app`` puts them on every router it includes (``Protected``), so a route never
repeats them. Failures are 401 (with ``WWW-Authenticate: Bearer``) or 403 in the shared error
shape.

This module must never log or echo a token, a claim value or any other request value: an error
names only the rule that failed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.settings import CommonSettings

log = logging.getLogger(__name__)

Role = Literal["clinical_app", "clinician", "governance", "regulator", "admin"]
ROLES: tuple[Role, ...] = ("clinical_app", "clinician", "governance", "regulator", "admin")
ASYMMETRIC = ["RS256", "ES256"]
REALM = 'Bearer realm="safetyplan"'
VERIFIED_CACHE_SIZE = 4096
"""Verified tokens remembered per process (oldest dropped first)."""


class AuthError(Exception):
    """401 (who are you?) or 403 (not you / not this): field, rule and a fixed message."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(rule)
        self.status, self.field, self.rule, self.message = status, field, rule, message

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:
            if self.rule == "token_missing":
                return {"WWW-Authenticate": REALM}
            return {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
        if self.status == 403:
            return {"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'}
        return {}


def unauthenticated(rule: str, message: str) -> AuthError:
    return AuthError(401, "authorization", rule, message)


def forbidden(field: str, rule: str, message: str) -> AuthError:
    return AuthError(403, field, rule, message)


@dataclass(frozen=True)
class Principal:
    """The verified caller: subject, roles and the claims that scope what it may see."""

    subject: str
    roles: frozenset[str]
    actor_role: str | None = None
    units: tuple[str, ...] = ()
    provider: str | None = None
    system: str | None = None
    identifiable: bool = False

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        roles, units = claims.get("roles", []), claims.get("units", [])
        optional = {k: claims.get(k) for k in ("actor_role", "provider", "system")}
        if (
            not isinstance(claims.get("sub"), str)
            or not _str_list(roles)
            or not _str_list(units)
            or not all(v is None or isinstance(v, str) for v in optional.values())
            or not isinstance(claims.get("identifiable", False), bool)
        ):
            raise unauthenticated("claims_typed", "a claim has the wrong type")
        return cls(
            subject=claims["sub"],
            roles=frozenset(r for r in roles if r in ROLES),
            units=tuple(units),
            identifiable=claims.get("identifiable", False) is True,
            **optional,
        )


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_FAILURES: list[tuple[type[Exception], str, str]] = [
    (jwt.ExpiredSignatureError, "token_expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the token is not valid yet"),
    (jwt.InvalidAudienceError, "audience", "the token is not for this audience"),
    (jwt.InvalidIssuerError, "issuer", "the token is not from the trusted issuer"),
    (jwt.InvalidSignatureError, "signature", "the token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "claim_required", "the token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "algorithm", "the token's algorithm is not accepted"),
]


class TokenVerifier:
    """Verifies bearer tokens with the configured key source. Keys load on first use."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jwks_client: jwt.PyJWKClient | None = None
        self._jwks_file: jwt.PyJWKSet | None = None
        self._pem: str | None = None
        self._verified: dict[str, tuple[Principal, float]] = {}

    def source(self) -> str:
        s = self.settings
        if s.auth_jwks:
            return "jwks"
        if s.auth_public_key_file:
            return "public_key"
        if s.auth_dev_hs256_secret and s.auth_dev_hs256_secret.get_secret_value():
            return "dev_hs256"
        return "none"

    def _key(self, token: str) -> tuple[Any, list[str]]:
        s = self.settings
        source = self.source()
        if source == "jwks":
            assert s.auth_jwks is not None
            if s.auth_jwks.startswith(("https://", "http://")):
                with self._lock:
                    if self._jwks_client is None:
                        self._jwks_client = jwt.PyJWKClient(s.auth_jwks, lifespan=300, timeout=5)
                return self._jwks_client.get_signing_key_from_jwt(token).key, ASYMMETRIC
            with self._lock:
                if self._jwks_file is None:
                    self._jwks_file = jwt.PyJWKSet.from_dict(
                        json.loads(Path(s.auth_jwks).read_text())
                    )
            kid = jwt.get_unverified_header(token).get("kid")
            keys = self._jwks_file.keys
            found = [k for k in keys if k.key_id == kid] if kid else keys if len(keys) == 1 else []
            if not found:
                raise unauthenticated("key_id", "no trusted key matches the token's key id")
            return found[0].key, ASYMMETRIC
        if source == "public_key":
            assert s.auth_public_key_file is not None
            with self._lock:
                if self._pem is None:
                    self._pem = Path(s.auth_public_key_file).read_text()
            return self._pem, ASYMMETRIC
        if source == "dev_hs256":
            assert s.auth_dev_hs256_secret is not None
            return s.auth_dev_hs256_secret.get_secret_value(), ["HS256"]
        raise unauthenticated("no_key_configured", "this service has no token key configured")

    def verify(self, token: str) -> Principal:
        """The token's principal; a token verified in the last seconds is not checked again.

        A clinical app sends the same token with every command, and checking it (PyJWT, HMAC or
        RSA) was an eighth of the API's CPU per command in the ingest profile.
        """
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        principal, expires = self._verify(token)
        ttl = self.settings.auth_verified_cache_seconds
        if ttl > 0:
            with self._lock:
                while len(self._verified) >= VERIFIED_CACHE_SIZE:
                    del self._verified[next(iter(self._verified))]
                self._verified[token] = (principal, min(expires, now + ttl))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        s = self.settings
        try:
            key, algorithms = self._key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=s.auth_audience,
                issuer=s.auth_issuer,
                leeway=s.auth_leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except AuthError:
            raise
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            for cls, rule, message in _FAILURES:
                if isinstance(exc, cls):
                    raise unauthenticated(rule, message) from None
            raise unauthenticated("token_invalid", "the token cannot be verified") from None
        expires = claims["exp"]
        if not isinstance(expires, int | float):
            raise unauthenticated("claims_typed", "a claim has the wrong type")
        return Principal.from_claims(claims), float(expires)


bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from the platform's identity provider (`python -m services.common.tokens "
    "mint` for local use).",
)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_key_configuration(settings: CommonSettings) -> None:
    """Refuse to serve beyond loopback with the HS256 secret that ships in the code.

    That secret is public (it is in this repository), so anyone could mint tokens with it: a
    service reachable from other hosts needs a JWKS, a public key, or a secret of its own.
    """
    from services.common.settings import CommonSettings as Defaults

    default = Defaults.model_fields["auth_dev_hs256_secret"].default
    secret = settings.auth_dev_hs256_secret
    using_built_in = (
        TokenVerifier(settings).source() == "dev_hs256"
        and secret is not None
        and secret.get_secret_value() == default.get_secret_value()
    )
    if using_built_in and settings.http_host not in LOOPBACK_HOSTS:
        raise RuntimeError(
            "SAFETYPLAN_HTTP_HOST is not loopback but no token key is configured: set "
            "SAFETYPLAN_AUTH_JWKS or SAFETYPLAN_AUTH_PUBLIC_KEY_FILE (see deploy/README.md)"
        )


def install_verifier(app: FastAPI, settings: CommonSettings) -> TokenVerifier:
    check_key_configuration(settings)
    verifier = TokenVerifier(settings)
    app.state.token_verifier = verifier
    return verifier


SESSION_COOKIE = "safetyplan_session"
"""The cookie a page login stores the same bearer token in (services.common.pages)."""


class PageRoute(APIRoute):
    """A server-rendered page: the only kind of route that also accepts the token from the
    ``SESSION_COOKIE``. API routes never read it, so a cross-site request cannot use a browser's
    login against an API (pages take GET forms only, or a CSRF token)."""


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The verified caller of this request; 401 without a valid bearer token (or, on a
    ``PageRoute`` only, a valid session cookie).

    Async on purpose: verifying is CPU only (keys are cached), so it runs on the event loop
    instead of costing every request a hop through the thread pool."""
    token = credentials.credentials if credentials is not None else None
    if token is None and isinstance(request.scope.get("route"), PageRoute):
        token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        raise unauthenticated("token_missing", "send a bearer token in Authorization")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        principal = verifier.verify(token)
    except AuthError as exc:
        log.info("token refused: %s", exc.rule)
        raise
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller holds one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def has_role(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & allowed:
            raise forbidden("roles", "role_not_allowed", "this token's roles may not do this")
        return principal

    has_role.__name__ = "require_" + "_or_".join(sorted(allowed))
    return has_role


@dataclass(frozen=True)
class Protected:
    """A router and who may use it: ``roles`` (empty: any authenticated caller); ``audited``
    records every request in the service's access log (services.common.access_log)."""

    router: APIRouter
    roles: tuple[Role, ...] = ()
    audited: bool = False
