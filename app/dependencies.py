"""What an endpoint can ask for: the loaded models, and the model a request names.

The dependencies are `async def` although they never await: FastAPI runs a plain `def`
dependency in its thread pool, and a thread hop per look-up costs more than the routing.
They are also flat: FastAPI spends ~40 µs solving each dependency of every request, so
ModelDep, which every /predict solves, reads the registry itself instead of depending on
RegistryDep.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from app.model_registry import LoadedModel, ModelRegistry, UnknownModelError


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


def find_model(registry: ModelRegistry, name: str | None) -> LoadedModel:
    try:
        return registry.get(name)
    except UnknownModelError:
        known = ", ".join(registry.models)
        raise HTTPException(404, f"no model named {name!r}; known models: {known}") from None


async def get_requested_model(
    request: Request,
    model: Annotated[
        str | None, Query(description="Model name (see GET /models); default model if omitted")
    ] = None,
) -> LoadedModel:
    return find_model(request.app.state.registry, model)


ModelDep = Annotated[LoadedModel, Depends(get_requested_model)]
