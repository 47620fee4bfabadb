"""What the handlers take from the app, as typed FastAPI dependencies (set once in main.app_create)."""
from typing import Annotated

from fastapi import Depends, Request

from ..settings import Settings


def settings_get(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(settings_get)]
