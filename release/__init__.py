"""Release: the MOF schema and classifier, licence checks, bundle assembly, model and data
cards, Croissant metadata and publishing.

- ``glassworks.release.mof``: ``classify_file(path)`` -> ``Classification`` (``.label``,
  ``.progress``, ``.gaps(k)``); the rules live in ``mof/assets/`` (components, licences,
  JSON Schema). Imports no torch.
- ``glassworks.release.bundle``: ``build_bundle(BundleConfig, run_dir, out_dir)`` ->
  ``BundleResult`` (``.mof_class``, ``.classification``, ``.manifest_id``, ``.warnings``);
  ``bundle.check.check_bundle(path)``; ``bundle.publish.plan_publish`` / ``publish``.
"""
