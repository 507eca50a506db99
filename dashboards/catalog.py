"""The console's vocabulary from ``dashboards/console.yaml``: dismissal reasons and the monthly sheet's focus areas."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.exceptions import AdWatchError
from rules.engine import CATEGORY_LABELS

CATALOG_PATH = Path(__file__).resolve().parent / "console.yaml"

#: Every category a hit can carry, labelled: the rule engine's ad categories, and the price checks' findings.
CATEGORY_NAMES: dict[str, str] = {**CATEGORY_LABELS, "price": "价格行为（价格欺诈）"}


class CatalogError(AdWatchError):
    """console.yaml is not valid; the message names the file, the entry and the field."""


class FocusArea(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    article_prefixes: list[str] = []
    default: bool = False

    def covers(self, article_key: str) -> bool:
        return any(article_key.startswith(prefix) for prefix in self.article_prefixes)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dismiss_reasons: dict[str, str] = Field(min_length=1)
    focus_areas: list[FocusArea] = Field(min_length=1)
    dispositions: dict[str, str] = Field(min_length=1)
    penalty_disposition: str
    closing_disposition: str
    reporting_unit: str = Field(min_length=1)
    report_due_day: int = Field(ge=1, le=28)

    @field_validator("focus_areas")
    @classmethod
    def _one_default_area(cls, areas: list[FocusArea]) -> list[FocusArea]:
        # A field validator (not a model validator), so the error names ``focus_areas`` rather than "(top)".
        defaults = [area.name for area in areas if area.default]
        if len(defaults) != 1:
            raise ValueError(f"exactly one focus area must be the default, found {defaults or 'none'}")
        return areas

    @model_validator(mode="after")
    def _named_dispositions(self) -> Catalog:
        for name in ("penalty_disposition", "closing_disposition"):
            code = getattr(self, name)
            if code not in self.dispositions:
                raise ValueError(f"{name}: {code!r} is not one of dispositions {list(self.dispositions)}")
        return self

    def focus_area(self, article_key: str) -> str:
        """The focus area a hit of ``article_key`` counts under."""
        for area in self.focus_areas:
            if area.covers(article_key):
                return area.name
        return next(area.name for area in self.focus_areas if area.default)


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Catalog.model_validate(data)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"{path}: {problems}") from exc


@cache
def catalog() -> Catalog:
    """The built-in catalog, loaded once."""
    return load_catalog()
