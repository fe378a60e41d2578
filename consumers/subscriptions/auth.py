"""The Auth API's role calls (CONTRACT §5). Grant and revoke are idempotent, so a retry is
harmless; `roles` reads what Auth holds (the access reconciler compares it with the truth)."""

from dataclasses import dataclass
from uuid import UUID

from consumers.outbound import Outbound, send

ROLE = "subscriber"


@dataclass(frozen=True)
class AuthClient:
    client: Outbound
    base_url: str
    service_token: str | None = None

    async def grant(self, user_id: UUID) -> None:
        url = f"{self._users()}/{user_id}/roles"
        await send(self.client, "POST", url, json={"role": ROLE}, headers=self._headers())

    async def revoke(self, user_id: UUID) -> None:
        url = f"{self._users()}/{user_id}/roles/{ROLE}"
        await send(self.client, "DELETE", url, headers=self._headers())

    async def roles(self, user_id: UUID) -> list[str]:
        url = f"{self._users()}/{user_id}/roles"
        response = await send(self.client, "GET", url, headers=self._headers())
        return [str(role) for role in response.json().get("roles", [])]

    def _users(self) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/users"

    def _headers(self) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {self.service_token}"} if self.service_token else None
