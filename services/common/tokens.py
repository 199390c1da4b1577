"""Mint bearer tokens for local use, the demo loader and tests — never for production, where the
identity provider issues them.

    python -m services.common.tokens mint --role clinician --unit "Oak Ward"
    python -m services.common.tokens mint --role clinical_app --system ward_app \\
        --actor-role nurse --sub staff-0042
    python -m services.common.tokens mint --role regulator --identifiable

Signs with the settings' local/dev HS256 secret, or with ``--private-key`` (PEM, RS256/ES256)
for a deployment that trusts the matching public key. Prints only the token.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from services.common.auth import ROLES
from services.common.settings import CommonSettings


def claims(
    settings: CommonSettings,
    *,
    roles: Sequence[str],
    subject: str | None = None,
    actor_role: str | None = None,
    units: Sequence[str] = (),
    provider: str | None = None,
    system: str | None = None,
    identifiable: bool = False,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> dict[str, Any]:
    issued = int(now if now is not None else time.time())
    body: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": subject or f"local-{roles[0] if roles else 'user'}",
        "iat": issued,
        "exp": issued + ttl_seconds,
        "roles": list(roles),
        "units": list(units),
        "identifiable": identifiable,
    }
    for name, value in (("actor_role", actor_role), ("provider", provider), ("system", system)):
        if value is not None:
            body[name] = value
    return body


def sign(
    settings: CommonSettings,
    body: dict[str, Any],
    private_key_pem: bytes | None = None,
    kid: str | None = None,
) -> str:
    """A JWT of ``body``: with the private key when given, else the dev HS256 secret."""
    headers = {"kid": kid} if kid else None
    if private_key_pem is not None:
        key = load_pem_private_key(private_key_pem, password=None)
        algorithm = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("the private key must be RSA or EC P-256")
        return jwt.encode(body, key, algorithm=algorithm, headers=headers)
    secret = settings.auth_dev_hs256_secret
    if secret is None or not secret.get_secret_value():
        raise ValueError("no dev HS256 secret configured (SAFETYPLAN_AUTH_DEV_HS256_SECRET)")
    return jwt.encode(body, secret.get_secret_value(), algorithm="HS256", headers=headers)


def mint(settings: CommonSettings, **kw: Any) -> str:
    """A signed token with the dev secret; keyword arguments as for ``claims``."""
    return sign(settings, claims(settings, **kw))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.tokens")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("mint", help="print a signed bearer token (local use and tests)")
    m.add_argument("--role", action="append", required=True, choices=ROLES, dest="roles")
    m.add_argument("--sub", help="subject (pseudonymous user or client id)")
    m.add_argument("--actor-role", help="role written on events, e.g. nurse (clinical_app)")
    m.add_argument("--unit", action="append", default=[], dest="units", help="repeatable")
    m.add_argument("--provider", help="provider ODS code (governance)")
    m.add_argument("--system", help="submitting system (clinical_app)")
    m.add_argument("--identifiable", action="store_true", help="may see direct identifiers")
    m.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    m.add_argument("--private-key", type=Path, help="PEM private key (RS256/ES256)")
    m.add_argument("--kid", help="key id header (with a JWKS)")
    args = parser.parse_args(argv)
    settings = CommonSettings()
    body = claims(
        settings,
        roles=args.roles,
        subject=args.sub,
        actor_role=args.actor_role,
        units=args.units,
        provider=args.provider,
        system=args.system,
        identifiable=args.identifiable,
        ttl_seconds=args.ttl,
    )
    pem = args.private_key.read_bytes() if args.private_key else None
    print(sign(settings, body, pem, args.kid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
