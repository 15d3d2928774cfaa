"""The exceptions of ``neptune_scale.exceptions``, by the same names.

A script's ``on_error_callback(exc, last_seen_at)`` receives these: naiad's own error (a
:class:`naiad.StepOrderError`, :class:`naiad.FieldTypeError`, ...) is the ``__cause__`` and
its message follows Neptune's. Only the classes a script can meet (or catch) in naiad exist.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "NeptuneApiTokenNotProvided",
    "NeptuneAttributePathEmpty",
    "NeptuneAttributePathExceedsSizeLimit",
    "NeptuneAttributePathInvalid",
    "NeptuneAttributePathNonWritable",
    "NeptuneAttributeTypeMismatch",
    "NeptuneAttributeTypeUnsupported",
    "NeptuneFileUploadError",
    "NeptuneProjectAlreadyExists",
    "NeptuneProjectError",
    "NeptuneProjectInvalidName",
    "NeptuneProjectNotFound",
    "NeptuneProjectNotProvided",
    "NeptuneRunConflicting",
    "NeptuneRunDuplicate",
    "NeptuneRunError",
    "NeptuneRunForkParentNotFound",
    "NeptuneRunNotFound",
    "NeptuneScaleError",
    "NeptuneScaleWarning",
    "NeptuneSeriesPointDuplicate",
    "NeptuneSeriesStepNonIncreasing",
    "NeptuneSeriesStepNotAfterForkPoint",
    "NeptuneSeriesStepTooLarge",
    "NeptuneSeriesTimestampDecreasing",
    "NeptuneStringValueExceedsSizeLimit",
    "NeptuneSynchronizationStopped",
    "NeptuneUnableToLogData",
    "NeptuneUnexpectedError",
]


class NeptuneScaleError(Exception):
    """Root of the errors of the compatibility layer (as in ``neptune_scale``)."""

    message = "An error occurred in the Neptune client."

    def __init__(self, reason: str = "", **kwargs: Any) -> None:
        text = self.message
        if reason:
            text = f"{text} {reason}"
        super().__init__(text)
        self.reason = reason


class NeptuneScaleWarning(Warning):
    """Root of the warnings (as in ``neptune_scale``)."""

    message = "A warning occurred in the Neptune client."

    def __init__(self, reason: str = "", **kwargs: Any) -> None:
        super().__init__(f"{self.message} {reason}".strip())
        self.reason = reason


class NeptuneUnableToLogData(NeptuneScaleError):
    message = "NeptuneUnableToLogData: An error occurred, preventing Neptune from logging your data."


class NeptuneUnexpectedError(NeptuneScaleError):
    message = "NeptuneUnexpectedError: An unexpected error occurred."


class NeptuneSynchronizationStopped(NeptuneScaleError):
    message = "NeptuneSynchronizationStopped: the store stopped taking writes."


class NeptuneFileUploadError(NeptuneScaleError):
    message = "NeptuneFileUploadError: the file could not be stored."


class NeptuneProjectError(NeptuneScaleError):
    pass


class NeptuneProjectNotFound(NeptuneProjectError):
    message = "NeptuneProjectNotFound: Project not found."


class NeptuneProjectInvalidName(NeptuneProjectError):
    message = "NeptuneProjectInvalidName: Project name is invalid."


class NeptuneProjectAlreadyExists(NeptuneProjectError):
    message = "NeptuneProjectAlreadyExists: A project with the provided name or project key already exists."


class NeptuneProjectNotProvided(NeptuneScaleError):
    message = "NeptuneProjectNotProvided: no project was given."


class NeptuneApiTokenNotProvided(NeptuneScaleError):
    message = "NeptuneApiTokenNotProvided: naiad needs no API token."


class NeptuneRunError(NeptuneScaleError):
    pass


class NeptuneRunNotFound(NeptuneRunError):
    message = "NeptuneRunNotFound: Run not found."


class NeptuneRunDuplicate(NeptuneScaleWarning):
    message = "NeptuneRunDuplicate: A run with the provided ID already exists."


class NeptuneRunConflicting(NeptuneScaleWarning):
    message = (
        "NeptuneRunConflicting: Run with specified `run_id` already exists, but has a different "
        "`fork_run_id` parameter."
    )


class NeptuneRunForkParentNotFound(NeptuneScaleWarning):
    message = "NeptuneRunForkParentNotFound: The provided parent run does not exist."


class NeptuneAttributePathExceedsSizeLimit(NeptuneScaleError):
    message = "NeptuneAttributePathExceedsSizeLimit: Attribute path is too long."


class NeptuneAttributePathEmpty(NeptuneScaleError):
    message = "NeptuneAttributePathEmpty: Attribute path is empty."


class NeptuneAttributePathInvalid(NeptuneScaleError):
    message = "NeptuneAttributePathInvalid: Attribute path is invalid."


class NeptuneAttributePathNonWritable(NeptuneScaleError):
    message = "NeptuneAttributePathNonWritable: Attribute is not writable."


class NeptuneAttributeTypeUnsupported(NeptuneScaleError):
    message = "NeptuneAttributeTypeUnsupported: the type of the value is not supported."


class NeptuneAttributeTypeMismatch(NeptuneScaleError):
    message = (
        "NeptuneAttributeTypeMismatch: the attribute type is different from the one that was "
        "previously logged for this series."
    )


class NeptuneSeriesPointDuplicate(NeptuneScaleWarning):
    message = "NeptuneSeriesPointDuplicate: The exact same data point (value + step pair) was already logged."


class NeptuneSeriesStepNonIncreasing(NeptuneScaleError):
    message = "NeptuneSeriesStepNonIncreasing: Subsequent steps of a series must be strictly increasing."


class NeptuneSeriesStepTooLarge(NeptuneScaleError):
    message = "NeptuneSeriesStepTooLarge: Step must be smaller than 1,000,000,000,000."


class NeptuneSeriesStepNotAfterForkPoint(NeptuneScaleError):
    message = (
        "NeptuneSeriesStepNotAfterForkPoint: The series value must be greater than the step "
        "specified by the `fork_step` argument."
    )


class NeptuneSeriesTimestampDecreasing(NeptuneScaleError):
    message = "NeptuneSeriesTimestampDecreasing: The timestamp of a series value is less than the last one."


class NeptuneStringValueExceedsSizeLimit(NeptuneScaleError):
    message = "NeptuneStringValueExceedsSizeLimit: String value is too long."
