"""PyTorch Lightning trial templates for supernas: modules, DataModules, callbacks and the CLI.

Recipe in the LightningModules (``SupernetModule`` drives any one-shot algorithm, ``ChildModule``
trains a fixed architecture), data in the DataModules (``trial_templates.data``), platform I/O in
callbacks (``trial_templates.reporting``, ``trial_templates.artifacts``). ``supernas`` (the console
script, ``trial_templates.cli:main``) and ``python -m trial_templates`` run the same commands.
"""
