"""Body of `okrbridge serve-dashboard`: the dashboard alone under uvicorn, no scheduler."""

from __future__ import annotations

import os
from pathlib import Path

from okrbridge.cli.common import EXIT_OK, EXIT_USAGE, bound_socket, fail, load, open_store, url_of


def run_serve_dashboard(path: Path | None, *, host: str | None, port: int | None) -> int:
    """Serve the read-only dashboard until interrupted."""
    import uvicorn

    from okrbridge.logs import collect_secrets, configure_logging, get_logger
    from okrbridge.web.dashboard import DashboardAuth, create_dashboard_app
    from okrbridge.web.dashboard.auth import PASSWORD_ENV, TOKEN_ENV

    env = dict(os.environ)
    try:
        auth = DashboardAuth.from_env(env)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    loaded = load(path, check_secrets=False)
    secrets = [env[name] for name in (TOKEN_ENV, PASSWORD_ENV) if env.get(name)]
    configure_logging([*collect_secrets(loaded.config, env), *secrets])
    web = loaded.config.web
    bind_host, bind_port = host or web.host, port if port is not None else web.port
    sock = bound_socket(bind_host, bind_port)
    with open_store(loaded) as store, sock:
        app = create_dashboard_app(loaded.config, store, auth=auth)
        get_logger(__name__).info(
            "serving the dashboard",
            url=url_of(bind_host, int(sock.getsockname()[1])),
            access=auth.describe(),
            store=store.redacted_url,
        )
        config = uvicorn.Config(
            app,
            log_config=None,  # okrbridge.logs formats uvicorn's lines
            access_log=False,  # a ?token= must not reach a log line
            server_header=False,
        )
        uvicorn.Server(config).run(sockets=[sock])
    return EXIT_OK
