"""LaunchWatch's edge: settings, the command line, the Discord client, and the wiring."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("launchwatch")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
