"""``neptune_scale.api``: where ``Run`` and ``SourceTrackingConfig`` are defined in neptune-scale."""
