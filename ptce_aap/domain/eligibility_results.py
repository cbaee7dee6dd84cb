"""What an eligibility rule returns (``RuleResult``) and what ``eligibility.evaluate`` returns (``Verdict``), with
the helpers the rules build their failures with. Apart from the catalog (``domain.eligibility``), so that rules
kept in their own module (``eligibility_documents``) use them without an import cycle. Pure: no Flask, no DB."""

from __future__ import annotations

from dataclasses import dataclass

from ptce_aap.domain.messages import N_, Message, join
from ptce_aap.enums import RuleMode


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    message_fr: Message  # for a draft: what is wrong and what to change (a French ``str`` pages translate)
    mode: RuleMode | None = None  # set by ``evaluate``
    not_analysed: bool = False  # passed, with files the antivirus never analysed (shown "non analysé")
    finding_fr: Message | None = None  # the same without what to change (a submitted dossier is frozen); stored
    label_fr: Message | None = None  # the rule's short name, set by ``evaluate`` (from the catalog)

    @property
    def message(self) -> Message:
        return self.message_fr

    @property
    def finding(self) -> Message:
        return self.finding_fr if self.finding_fr is not None else self.message_fr

    @property
    def label(self) -> Message:
        return self.label_fr if self.label_fr is not None else N_("%(code)s", code=self.code)

    @property
    def is_blocking(self) -> bool:
        return self.mode == RuleMode.BLOCKING

    def as_dict(self) -> dict:
        """The JSON stored in ``EligibilityCheck.results``."""
        finding = self.finding
        return {"code": self.code, "passed": self.passed, "mode": (self.mode or RuleMode.BLOCKING).value,
                "message": str(finding)} | ({"msg": finding.to_json()} if isinstance(finding, Message) else {}) \
            | ({"not_analysed": True} if self.not_analysed else {})


@dataclass(frozen=True)
class Verdict:
    is_eligible: bool
    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.is_blocking]

    @property
    def advisory_failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and not r.is_blocking]


def failed(code: str, finding: Message, advice: Message | None = None) -> RuleResult:
    """A draft is told what to change (``advice``); a submitted dossier, frozen, only what was found."""
    if advice is None:
        return RuleResult(code, False, finding)
    if finding.endswith("."):
        return RuleResult(code, False, join([finding, advice]), finding_fr=finding)
    return RuleResult(code, False, N_("%(finding)s : %(advice)s", finding=finding, advice=advice),
                      finding_fr=N_("%(finding)s.", finding=finding))


def joined(code: str, parts: list[RuleResult]) -> RuleResult:
    return RuleResult(code, False, join(p.message_fr for p in parts), finding_fr=join(p.finding for p in parts))
