"""Under which terms a dataset's data may train a model: its licence, where it came from, and consent.

Each dataset keeps one set of terms (not one per version: the artist's answer is about the data, and a
correction applies to every version). A licence is an SPDX id from ``LICENCES`` (the common ones for
pictures, sounds and tables) or ``own work``; the source is free text (an attribution, a link, "drawn
by me"); consent says whether the people or artists in the data agreed to it training a model.
Models trained on data without a licence, or without a ``yes``, carry a warning on their card
(``canvascraft.gallery.card``) and when they are registered.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from canvascraft.data.catalog import get_dataset
from canvascraft.errors import DatasetError

OWN_WORK = "own work"
LICENCES: dict[str, str] = {
    OWN_WORK: "made by you (or the studio), yours to use",
    "CC0-1.0": "Creative Commons Zero: public domain dedication",
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC-BY-SA-4.0": "Creative Commons Attribution-ShareAlike 4.0",
    "CC-BY-NC-4.0": "Creative Commons Attribution-NonCommercial 4.0",
    "CC-BY-NC-SA-4.0": "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
    "CC-BY-ND-4.0": "Creative Commons Attribution-NoDerivatives 4.0",
    "CC-BY-NC-ND-4.0": "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
    "CC-BY-3.0": "Creative Commons Attribution 3.0",
    "CC-BY-SA-3.0": "Creative Commons Attribution-ShareAlike 3.0",
    "CC-PDDC": "Creative Commons Public Domain Dedication and Certification",
    "PDDL-1.0": "Open Data Commons Public Domain Dedication and License",
    "ODC-By-1.0": "Open Data Commons Attribution License",
    "ODbL-1.0": "Open Data Commons Open Database License",
    "CDLA-Permissive-2.0": "Community Data License Agreement, permissive",
    "CDLA-Sharing-1.0": "Community Data License Agreement, sharing",
    "MIT": "MIT License",
    "Apache-2.0": "Apache License 2.0",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Unlicense": "The Unlicense",
}
"""The licences a dataset may name (SPDX ids, plus ``own work``), with what each is, for pickers."""

CONSENTS = ("yes", "no", "unknown")
"""Did the people or artists in the data consent to training? ``unknown`` until someone says."""

_BY_KEY = {key.casefold(): key for key in LICENCES}


@dataclass(frozen=True)
class LicenceTerms:
    """A dataset's terms as stored; ``licence`` None means nobody has said yet."""

    licence: str | None = None
    source: str = ""
    consent: str = "unknown"

    @property
    def licence_shown(self) -> str:
        return self.licence or "not given"

    @property
    def problems(self) -> list[str]:
        """What is missing for the data to train with a clear conscience (empty when nothing is)."""
        found = []
        if not self.licence:
            found.append("no licence is recorded")
        if self.consent == "no":
            found.append("the people or artists in it did not consent to training")
        elif self.consent != "yes":
            found.append("consent to training is unknown")
        return found


def check_licence(value: str) -> str:
    """The canonical spelling of a licence the studio knows (case and surrounding spaces forgiven);
    an unknown one is a ``DatasetError`` naming the closest known ids."""
    text = " ".join(value.split())
    found = _BY_KEY.get(text.casefold())
    if found is not None:
        return found
    close = difflib.get_close_matches(text.casefold(), list(_BY_KEY), n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(repr(_BY_KEY[c]) for c in close)}?"
        if close
        else f"known ones: {', '.join(LICENCES)}"
    )
    raise DatasetError(
        f"{text!r} is not a licence the studio knows; {hint} (use an SPDX id such as CC-BY-4.0, or "
        f"'{OWN_WORK}' for data you made)"
    )


def check_consent(value: str) -> str:
    answer = value.strip().casefold()
    if answer not in CONSENTS:
        raise DatasetError(f"consent must be one of {', '.join(CONSENTS)}, got {value!r}")
    return answer


def check_terms(
    licence: str | None = None, source: str | None = None, consent: str | None = None
) -> tuple[str | None, str | None, str | None]:
    """The given parts checked and canonical (None stays None: that part is left as it is; an empty
    licence clears it)."""
    if licence is not None:
        licence = check_licence(licence) if licence.strip() else ""
    if source is not None:
        source = source.strip()
    if consent is not None:
        consent = check_consent(consent)
    return licence, source, consent


def get_terms(session: Session, name: str) -> LicenceTerms:
    dataset = get_dataset(session, name)
    return LicenceTerms(dataset.licence, dataset.licence_source or "", dataset.consent or "unknown")


def set_terms(
    session: Session,
    name: str,
    *,
    licence: str | None = None,
    source: str | None = None,
    consent: str | None = None,
) -> LicenceTerms:
    """Change the parts given (None leaves a part as it is; an empty licence clears it)."""
    licence, source, consent = check_terms(licence, source, consent)
    dataset = get_dataset(session, name)
    if licence is not None:
        dataset.licence = licence or None
    if source is not None:
        dataset.licence_source = source
    if consent is not None:
        dataset.consent = consent
    session.flush()
    return get_terms(session, name)


def licence_markdown(dataset: str, version: int, terms: LicenceTerms) -> str:
    """The ``LICENCE.md`` an exported dataset carries: its terms in words, and what is missing."""
    described = LICENCES.get(terms.licence or "", "")
    lines = [
        f"# {dataset} v{version}: licence and consent",
        "",
        f"- Licence: {terms.licence_shown}" + (f" ({described})" if described else ""),
        f"- Source or attribution: {terms.source or 'not given'}",
        f"- Consent of the people or artists in it to training: {terms.consent}",
    ]
    if terms.problems:
        lines += ["", "Warning: " + "; ".join(terms.problems) + ". Check before training on or sharing it."]
    if terms.licence and terms.licence != OWN_WORK:
        lines += ["", f"The licence's full text: https://spdx.org/licenses/{terms.licence}.html"]
    return "\n".join(lines) + "\n"
