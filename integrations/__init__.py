"""Framework integrations, one module each: ``lightning``, ``keras``, ``transformers``.

Each module imports its framework when imported; a missing framework raises
``ModuleNotFoundError`` naming the extra to install.
"""
