"""The search stage: search spaces, the trial objective, parallel workers on one shared study,
pruning, the study's identity and storage, and the snapshot the stage ends with.

Import the modules themselves (``paretonas.search.worker``, ``.study``, ``.space``, ...):
this package imports nothing, so reading a study does not pay for torch.
"""
