"""User-given text shown as itself: dataset, file, column and model names, labels, link values, and
messages that quote them.

Streamlit renders Markdown in most places text goes (``st.markdown``, captions, alerts, labels, pills,
``st.table`` cells), so a label such as ``![t](http://host/x.png)`` would make the browser fetch that
address and ``[Sign in](http://host)`` would show a link. ``plain`` breaks exactly the constructs that
reach out, leaving every other character as typed (so messages read the same):

- ``](``, ``][`` and ``]:`` (inline links and images, reference links and their definitions);
- ``scheme://host`` and ``www.host`` (autolinks, bare or in angle brackets);
- backslashes, so text cannot undo an escape.

Raw HTML needs no care: Streamlit escapes it unless a page opts in, and no page does.
"""

from __future__ import annotations

import re

_BRACKET = re.compile(r"\](?=[(\[:])")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(?=//\S)")
_WWW = re.compile(r"(?i)\b(www)\.(?=\S)")


def plain(value: object) -> str:
    """``value`` as Markdown that forms no link, image or autolink."""
    text = str(value).replace("\\", "\\\\")
    text = _BRACKET.sub(r"\\]", text)
    text = _SCHEME.sub(r"\1\\:", text)
    return _WWW.sub(r"\1\\.", text)
