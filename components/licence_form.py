"""A dataset's licence and consent: the fields an import offers, and the editable section of the Data
page. Checking the licence is the service's (an unknown id gets a message naming close ones)."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import CONSENTS, LICENCES, dataset_licence, set_dataset_licence
from components.roles import may, needs
from components.text import plain

NOT_GIVEN = "not given"
NOT_SAID = "not said"
CONSENT_HELP = "Did the people or artists in this data agree to it training a model?"
LICENCE_HELP = "An SPDX id (type another one if yours is not listed) or 'own work' for data you made."


def _licence_label(value: str) -> str:
    described = LICENCES.get(value)
    return f"{value}: {described}" if described else value


def import_licence_fields(adding_to: str | None = None) -> tuple[str | None, str | None, str | None]:
    """Licence, source and consent inside the import form; None for each one left as it is. Adding to
    an existing dataset, a caption says that what is left untouched keeps the dataset's terms (the
    option labels stay the same: a selectbox that takes typed options matches them by label)."""
    licence_col, source_col, consent_col = st.columns([2, 3, 2])
    licence = licence_col.selectbox(
        "Licence", [NOT_GIVEN, *LICENCES], format_func=_licence_label, accept_new_options=True,
        help=LICENCE_HELP + " Left as 'not given', an existing dataset keeps its licence.",
        key="data_import_licence",
    )  # fmt: skip
    source = source_col.text_input(
        "Source or attribution", help="Where the data came from, or whom to credit.", key="data_import_source"
    )
    consent = consent_col.selectbox(
        "Consent to training", [NOT_SAID, *CONSENTS], help=CONSENT_HELP, key="data_import_consent"
    )
    if adding_to is not None:
        terms = dataset_licence(adding_to)
        st.caption(
            f"Left as they are, {plain(adding_to)} keeps its terms: licence {plain(terms.licence_shown)}, "
            f"consent {plain(terms.consent)}."
        )
    return (
        None if licence in (None, NOT_GIVEN) else licence,
        source.strip() or None,
        None if consent == NOT_SAID else consent,
    )


def licence_section(name: str) -> None:
    """The selected dataset's terms, editable; a warning while a licence or consent is missing."""
    terms = dataset_licence(name)
    saved_key = f"data_licence_saved_{name}"
    if saved := st.session_state.pop(saved_key, None):
        st.success(saved, icon=":material/check_circle:")
    if terms.problems:
        st.warning(
            f"Models trained on {plain(name)} will carry a warning on their cards: "
            + "; ".join(terms.problems) + ".",
            icon=":material/warning:",
        )  # fmt: skip
    options = [NOT_GIVEN, *LICENCES]
    if terms.licence and terms.licence not in options:
        options.append(terms.licence)
    with st.form(f"data_licence_{name}", border=True):
        licence = st.selectbox(
            "Licence", options, index=options.index(terms.licence or NOT_GIVEN), format_func=_licence_label,
            accept_new_options=True, help=LICENCE_HELP, key=f"data_licence_{name}_licence",
        )  # fmt: skip
        source = st.text_input(
            "Source or attribution", value=terms.source, key=f"data_licence_{name}_source",
            help="Where the data came from, or whom to credit (shown on every model card).",
        )  # fmt: skip
        consent = st.segmented_control(
            "Consent to training", CONSENTS, default=terms.consent, help=CONSENT_HELP,
            key=f"data_licence_{name}_consent",
        )  # fmt: skip
        submitted = st.form_submit_button(
            "Save licence and consent", icon=":material/gavel:", disabled=not may("artist")
        )
    needs("artist", "Changing the terms")
    if submitted:
        try:
            set_dataset_licence(
                name,
                licence="" if licence in (None, NOT_GIVEN) else licence,
                source=source,
                consent=consent or terms.consent,
            )
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
        else:
            st.session_state[saved_key] = "Saved: every model card of this dataset shows the new terms."
            st.rerun()
