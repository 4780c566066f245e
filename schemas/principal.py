"""Who is on the other end of a connection: one discriminated union of principal kinds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _PrincipalBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    display_name: str = Field(max_length=200)


class UserPrincipal(_PrincipalBase):
    """A person authenticated by the identity provider."""

    kind: Literal["user"] = "user"


class DevPrincipal(_PrincipalBase):
    """A developer signed in through dev-login; only exists in development."""

    kind: Literal["dev"] = "dev"


class ServicePrincipal(_PrincipalBase):
    """A backend service acting on its own behalf (tests, bots, integrations)."""

    kind: Literal["service"] = "service"
    scopes: tuple[str, ...] = ()


Principal = Annotated[UserPrincipal | DevPrincipal | ServicePrincipal, Field(discriminator="kind")]
PrincipalKind = Literal["user", "dev", "service"]
