"""Model: the Mistral-style decoder, attention backends, rolling cache, training, checkpoints.

Not built yet in this version: the package exists so the layout and the CLI groups are in
place. ``glassworks.model.load`` arrives with the architecture.
"""
