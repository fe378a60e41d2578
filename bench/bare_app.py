"""The bare-endpoint baseline: FastAPI + uvicorn, verifying the gateway's JWT and nothing else.

    python -m bench.bare_app PORT

Same framework, server settings and `verify_token` as the gateway, so the gap between this
and `POST /api/v1/payments` measured in the same run is what the gateway does per request.
"""

import sys
import uuid
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header

from gateway.auth import verify_token
from gateway.settings import GatewaySettings

SETTINGS = GatewaySettings()
SECRET = SETTINGS.jwt_secret.get_secret_value()
app = FastAPI()


@app.get("/bare")
async def bare(authorization: Annotated[str, Header()]) -> dict[str, str]:
    token = authorization.removeprefix("Bearer ")
    user_id: uuid.UUID = verify_token(
        token, SECRET, issuer=SETTINGS.jwt_issuer, audience=SETTINGS.jwt_audience
    )
    return {"user_id": str(user_id)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
