"""What every process of the service does first: read its settings, check the files they name,
and set up logging. A configuration that cannot be used is one line on stderr and exit status 1,
before anything listens."""
import logging
import sys

from ..access.tokens import TokenFileError, parse_tokens
from ..core.logs import configure_logging
from ..openstack.clouds import CloudsFileError
from .composition import open_directory
from .settings import Settings, SettingsError

logger = logging.getLogger(__name__)


def settings_and_logging(serves_api: bool = False) -> Settings:
    """The settings from the environment, checked with the files they name (the tokens file too
    when ``serves_api``), logging set up; exits with the reason if any of it cannot be used."""
    try:
        settings = Settings.from_env()
        check_files(settings, serves_api)
    except (SettingsError, CloudsFileError, TokenFileError, OSError) as error:
        sys.exit(f"configuration error: {error}")
    configure_logging(settings.log_level)
    if settings.unknown_variables:
        logger.warning("ignoring environment variables that name no setting: %s",
                       ", ".join(settings.unknown_variables))
    return settings


def check_files(settings: Settings, serves_api: bool) -> None:
    """``CloudsFileError`` or ``TokenFileError`` if clouds.yaml (or the API's tokens file) cannot
    be used as it is."""
    open_directory(settings).close()
    if not serves_api:
        return
    if settings.tokens_file is None:
        raise SettingsError("API_TOKENS_FILE is required to serve the API")
    parse_tokens(settings.tokens_file.read_text(), str(settings.tokens_file))
