"""Bearer tokens for tests, minted with the local/dev HS256 secret of the default settings (the
same key every service built from default settings trusts). Nothing here mocks the services."""

from __future__ import annotations

from typing import Any

from contracts import examples
from services.common import tokens
from services.common.settings import CommonSettings

SETTINGS = CommonSettings()


def token(*roles: str, **claims: Any) -> str:
    return tokens.mint(SETTINGS, roles=list(roles), **claims)


def bearer(*roles: str, **claims: Any) -> dict[str, str]:
    """An Authorization header for a token with these roles and claims."""
    return {"Authorization": f"Bearer {token(*roles, **claims)}"}


# A ward app that submits as nurse staff-0042 and whose clinicians read the example units.
WARD_APP = {"subject": "staff-0042", "actor_role": "nurse", "system": "ward_app"}
EXAMPLE_UNITS = [examples.SETTING.unit_name, str(examples.SETTING.ward_name)]


def ward_app(**extra: Any) -> dict[str, str]:
    return bearer("clinical_app", "clinician", **{**WARD_APP, "units": EXAMPLE_UNITS, **extra})


def governance(provider: str = "RXX") -> dict[str, str]:
    return bearer("governance", subject="gov-1", provider=provider)


def regulator(identifiable: bool = False) -> dict[str, str]:
    return bearer("regulator", subject="cqc-1", identifiable=identifiable)


def admin() -> dict[str, str]:
    return bearer("admin", subject="ops-1")
