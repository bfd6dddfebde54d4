"""What every process of the service does first: read its settings and set up logging."""
import sys

from .logs import configure_logging
from .settings import Settings, SettingsError


def settings_and_logging() -> Settings:
    """The settings from the environment (exit with the reason if they are bad), logging set up."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        sys.exit(f"configuration error: {error}")
    configure_logging(settings.log_level)
    return settings
