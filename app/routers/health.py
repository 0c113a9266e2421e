"""GET /healthz: answers once every model is loaded (the server accepts no request before)."""

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 once the models are loaded")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
