"""Runtime LoRA loading in vLLM's shapes, so that a Lorag can be the engine of another Lorag (--engine-url):

    POST /v1/load_lora_adapter    {"lora_name": "pirate", "lora_path": "/abs/folder"}  -> 200 "Success: ..."
    POST /v1/unload_lora_adapter  {"lora_name": "pirate"}                              -> 200 "Success: ..."

The folder must be on the machine this server runs on; it is imported into the adapter registry, checked against
the loaded base and hot-swapped in (engine.adapters.runtime). Refusals are OpenAI-shaped errors: 400 (no such
folder, not a safetensors LoRA adapter, another base, a name already taken, an adapter not loaded through the API),
404 (unload of an adapter that does not exist). Credentials are the API's (engine.api.auth, checked before any route).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field

from engine.api.errors import NOT_FOUND, ApiError, from_lorag
from engine.api.schemas import _Body, parse_body, read_body
from engine.api.streaming import in_api_thread
from engine.errors import LoragError

if TYPE_CHECKING:
    from engine.studio import Studio


class LoadLoraRequest(_Body):
    lora_name: str = Field(min_length=1, description="The adapter's name here (the model id is <base>@name).")
    lora_path: str = Field(min_length=1, description="The adapter folder, an absolute path on this machine.")


class UnloadLoraRequest(_Body):
    lora_name: str = Field(min_length=1)


def add_lora_routes(api: FastAPI, studio: "Studio") -> None:
    @api.post("/load_lora_adapter")
    async def load_lora_adapter(request: Request) -> Any:
        from engine.adapters.runtime import load_runtime

        body = parse_body(await read_body(request), LoadLoraRequest)
        await in_api_thread(_refusing, load_runtime, studio.adapters, studio.models, body.lora_name, body.lora_path)
        return PlainTextResponse(f"Success: LoRA adapter '{body.lora_name}' added successfully.")

    @api.post("/unload_lora_adapter")
    async def unload_lora_adapter(request: Request) -> Any:
        from engine.adapters.runtime import unload_runtime

        body = parse_body(await read_body(request), UnloadLoraRequest)
        await in_api_thread(_refusing, unload_runtime, studio.adapters, body.lora_name)
        return PlainTextResponse(f"Success: LoRA adapter '{body.lora_name}' removed successfully.")


def _refusing(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except LoragError as exc:
        if exc.key == "adapters.not_found":
            raise ApiError(404, str(exc), NOT_FOUND, param="lora_name", code="lora_not_found") from None
        raise from_lorag(exc, param="lora_name") from None
