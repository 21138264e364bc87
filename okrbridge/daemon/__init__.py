"""The daemon process: scheduler + webhook inbox + web app (see `okrbridge daemon`).

`okrbridge.daemon.runner.Daemon` wires the parts; this package's modules are imported directly
(no re-exports here, so the scheduler and web packages can use its metrics without a cycle).
"""
