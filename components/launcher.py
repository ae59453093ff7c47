"""Start the studio's Streamlit server: ``python -m components.launcher run app.py [options]``.

Streamlit treats a ``pages/`` folder beside the entrypoint as a legacy multipage app until some run
calls ``st.navigation``. On a freshly started server, a share link such as ``/data?dataset=x`` opened
first would run ``pages/data.py`` on its own, without the app frame (set-up, navigation, layout).
Switching the legacy mode off before the server starts closes that gap; everything else is
Streamlit's own command line. The studio's background scheduler starts here too, with the server, so
the job queue moves on before (and without) any browser session.
"""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web.cli import main


def run() -> None:
    from canvascraft.services.workspace import serve_from_args, start_background

    PagesManager.uses_pages_directory = False
    # Before the scheduler and its job processes start, so they inherit the address alerts link to.
    serve_from_args(sys.argv[1:])
    start_background()
    sys.argv[0] = "streamlit"
    sys.exit(main())


if __name__ == "__main__":
    run()
