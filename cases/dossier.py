"""Parts of the archive dossier contributed by apps later in the lifecycle.

The dossier is assembled in `feedback`, which may not read `oversight`; oversight
registers a provider here instead, and the dossier asks for whatever is registered.
A provider takes the case and answers None or a part: (anchor, title, html).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString

from .models import Case

DossierPart = tuple[str, str, SafeString]
_providers: list[Callable[[Case], DossierPart | None]] = []


def register_part(provider: Callable[[Case], DossierPart | None]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def extra_parts(case: Case) -> list[DossierPart]:
    return [part for provider in _providers if (part := provider(case)) is not None]
