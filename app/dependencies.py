"""What an endpoint can ask for: the settings, the loaded models, the model a request names.

The dependencies are `async def` although they never await: FastAPI runs a plain `def`
dependency in its thread pool, and three thread hops per request for attribute look-ups cost
more than the rest of the routing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from app.model_registry import LoadedModel, ModelRegistry, UnknownModelError
from app.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


def find_model(registry: ModelRegistry, name: str | None) -> LoadedModel:
    try:
        return registry.get(name)
    except UnknownModelError:
        known = ", ".join(registry.models)
        raise HTTPException(404, f"no model named {name!r}; known models: {known}") from None


async def get_requested_model(
    registry: RegistryDep,
    model: Annotated[
        str | None, Query(description="Model name (see GET /models); default model if omitted")
    ] = None,
) -> LoadedModel:
    return find_model(registry, model)


ModelDep = Annotated[LoadedModel, Depends(get_requested_model)]
