"""Python logging into a string series; console capture and source tracking turned off."""

import logging
import sys

from naiad.neptune_scale import NeptuneLoggingHandler, Run
from naiad.neptune_scale.api.run import SourceTrackingConfig
from naiad.neptune_scale.util import get_logger

quiet = "--quiet" in sys.argv
run = Run(
    run_id="logging-1",
    experiment_name="logging-demo",
    enable_console_log_capture=not quiet,
    source_tracking_config=None if quiet else SourceTrackingConfig(upload_entry_point=True),
    runtime_namespace="runtime",
    log_directory="neptune-logs",
    max_queue_size=1000,
    on_network_error_callback=lambda exc, ts: None,
)
logger = logging.getLogger("my_experiment")
logger.setLevel(logging.INFO)
logger.addHandler(NeptuneLoggingHandler(run=run, level=logging.INFO, attribute_path="messages/info"))
get_logger().info("the layer's logger exists")
logger.info("Starting data preparation")
logger.debug("not captured: below the handler's level")
logger.warning("Data has %d rows", 128)
print("printed to stdout")
run.log_metrics({"loss": 0.5}, step=0)
run.close()
