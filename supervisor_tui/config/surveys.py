"""The ``[surveys]`` section: the survey webhook, field mapping, FCR and VIP alerts."""

from __future__ import annotations

from pydantic import Field, field_validator

from supervisor_tui.config.strict import Strict
from supervisor_tui.domain.model import Tier
from supervisor_tui.domain.survey_shapes import FieldMap
from supervisor_tui.domain.surveys import SurveyTool


class SurveysConfig(Strict):

    webhook_token_env: str | None = Field(
        None, description="environment variable holding a token for POST /v1/surveys only "
        "(survey tools get this one, not the consoles' token); either token is accepted")
    max_body_kb: int = Field(256, ge=1, le=10_240, description="a larger body is refused (413)")
    fcr_window_h: float = Field(
        24.0, gt=0, le=24 * 7, description="a customer's contact followed by another on any "
        "queue within this many hours was not resolved at first contact")
    vip_tiers: list[Tier] = Field(
        default_factory=lambda: [Tier.VIP], description="customer tiers whose low scores "
        "become escalations")
    vip_csat_max: int = Field(2, ge=1, le=5, description="a CSAT at or below this is low")
    vip_nps_max: int = Field(6, ge=0, le=10, description="an NPS at or below this is low")
    refresh_s: float = Field(
        10.0, ge=1, le=3600, description="how often a console reads new responses from the store")
    map: dict[str, FieldMap] = Field(
        default_factory=dict, description="[surveys.map.<tool>] field = \"key or dotted.path\" "
        "in that tool's records (qualtrics, medallia, generic, csv)")

    @field_validator("map")
    @classmethod
    def _known_tools(cls, value: dict[str, FieldMap]) -> dict[str, FieldMap]:
        mappable = {t.value for t in SurveyTool} - {SurveyTool.SURVEYMONKEY.value}
        for tool in value:
            if tool not in mappable:
                raise ValueError(f"no mapping for {tool!r}: use one of "
                                 f"{', '.join(sorted(mappable))} (SurveyMonkey sends ids only)")
        return value
