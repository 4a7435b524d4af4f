"""Offline switches, applied before any library that might phone home is imported.

The project runs on machines with no internet: model hubs, telemetry and analytics
must never be contacted. ``setdefault`` lets an operator override a value explicitly.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_env() -> None:
    """Set the offline environment variables unless the operator set them already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


apply_offline_env()
