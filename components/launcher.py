"""Start the studio's server: ``python -m components.launcher run app.py [Streamlit options]``.

The server is one ASGI app (``components.server.build_app``: the pages, ``/api`` and extra routes)
under uvicorn, started the way ``streamlit run`` starts an ``st.App``: the same options (parsed by
Streamlit's own ``run`` command), the same config files (the entrypoint's ``.streamlit/``), the same
runner. Three things are the studio's own:

- Streamlit treats a ``pages/`` folder beside the entrypoint as a legacy multipage app until some run
  calls ``st.navigation``. On a freshly started server, a share link such as ``/data?dataset=x``
  opened first would run ``pages/data.py`` on its own, without the app frame (set-up, navigation,
  layout). Switching the legacy mode off before the server starts closes that gap.
- The served address is recorded before anything starts (``serve_from_args``), so the scheduler's
  job processes inherit the address alert links point at.
- The background scheduler starts in the server's lifespan (``components.server.lifespan``), once.
- Bound beyond this machine (``--server.address``, ``STREAMLIT_SERVER_ADDRESS``, config.toml), the
  studio starts only with a login configured (the ``[auth]`` section of Streamlit's secrets), and says
  how to configure one otherwise (``services.people.check_binding``).
"""

from __future__ import annotations

import os
import sys

from streamlit import config as streamlit_config
from streamlit.runtime.credentials import check_credentials
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.secrets import secrets_singleton
from streamlit.web import bootstrap
from streamlit.web.cli import main_run


def run(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:
        args = args[1:]
    # Streamlit's own `run` command reads the options; it is not invoked, so it starts nothing.
    context = main_run.make_context("run", args)
    params = dict(context.params)
    script = os.path.abspath(params.pop("target"))
    script_args = list(params.pop("args") or ())
    PagesManager.uses_pages_directory = False
    streamlit_config._main_script_path = script
    bootstrap.load_config_options(flag_options=params)
    check_login()
    # The studio's own imports are heavy (torch, MLflow): after the quick refusal above.
    from canvascraft.services.workspace import serve_from_args
    from components.server import build_app

    serve_from_args(args)
    check_credentials()
    bootstrap.run_asgi_app(script, build_app(script), script_args, params)  # type: ignore[arg-type]


def check_login() -> None:
    """Exit with the way to configure a login when the studio would be bound beyond this machine
    without one (or with an ``[auth]`` section that cannot work); print the warnings otherwise."""
    from canvascraft.errors import CanvasCraftError
    from canvascraft.services.people import check_binding

    section = secrets_singleton.get("auth") if secrets_singleton.load_if_toml_exists() else None
    try:
        warnings = check_binding(streamlit_config.get_option("server.address"), section)
    except CanvasCraftError as error:
        sys.exit(f"canvascraft studio: {error}")
    for warning in warnings:
        print(f"canvascraft studio: warning: {warning}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    run()
