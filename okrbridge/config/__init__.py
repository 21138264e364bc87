"""Configuration: find, read and validate `okrbridge.toml`, reporting every problem at its line.

    path = discover_config_path(args.config, os.environ, Path.cwd())
    loaded = load_config(path, env=os.environ, registry=default_registry())
    token = loaded.secret("jira-mkt", "token_env")

Problems are `ConfigProblem`s (`file:line: key.path: message`) carried by one `ConfigError`.
"""

from okrbridge.config.checks import cross_problems
from okrbridge.config.env import apply_env_overrides, override_variables
from okrbridge.config.files import discover_config_path, render_starter_config
from okrbridge.config.loader import INSTANCE_NAME, LoadedConfig, load_config
from okrbridge.config.problems import ConfigError, ConfigProblem

__all__ = [
    "INSTANCE_NAME",
    "ConfigError",
    "ConfigProblem",
    "LoadedConfig",
    "apply_env_overrides",
    "cross_problems",
    "discover_config_path",
    "load_config",
    "override_variables",
    "render_starter_config",
]
