"""What every process of the service does first: read its settings, check the files they name,
and set up logging. A configuration that cannot be used is one line on stderr and exit status 1,
before anything listens."""
import logging
import sys

from ..core.logs import configure_logging
from .config_check import ERROR, findings
from .settings import Settings, SettingsError

logger = logging.getLogger(__name__)


def settings_and_logging(serves_api: bool = False) -> Settings:
    """The settings from the environment, checked with the files they name (the tokens file too
    when ``serves_api``), logging set up; exits with the first error if any."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        sys.exit(f"configuration error: {error}")
    for level, message in findings(settings, serves_api):
        if level == ERROR:
            sys.exit(f"configuration error: {message}")
    configure_logging(settings.log_level)
    if settings.unknown_variables:
        logger.warning("ignoring environment variables that name no setting: %s",
                       ", ".join(settings.unknown_variables))
    return settings
