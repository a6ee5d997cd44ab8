"""Dependencies shared by the routes and pages, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from frontdesk.config import Settings
from frontdesk.handoffs.service import HandoffService
from frontdesk.runtime.services import Services

ID_PATTERN = r"^[0-9a-f]{32}$"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_app_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_handoffs(services: ServicesDep) -> HandoffService:
    return services.handoffs


HandoffsDep = Annotated[HandoffService, Depends(get_handoffs)]
HandoffId = Annotated[str, Path(pattern=ID_PATTERN)]
