"""``neptune_scale.util.envs``: the names of the environment variables neptune-scale read.

The layer reads ``NEPTUNE_PROJECT``, ``NEPTUNE_MODE`` and ``NEPTUNE_LOG_FAILURE_ACTION``;
``NEPTUNE_API_TOKEN`` is ignored; the others have no meaning for a local store.
"""

from __future__ import annotations

PROJECT_ENV_NAME = "NEPTUNE_PROJECT"
API_TOKEN_ENV_NAME = "NEPTUNE_API_TOKEN"
MODE_ENV_NAME = "NEPTUNE_MODE"
LOG_FAILURE_ACTION = "NEPTUNE_LOG_FAILURE_ACTION"
LOG_DIRECTORY = "NEPTUNE_LOG_DIRECTORY"
DEBUG_MODE = "NEPTUNE_DEBUG_MODE"
LOGGER_LEVEL = "NEPTUNE_LOGGER_LEVEL"
