"""Shared by chapter 6's course:sr-x4 trials (sr_crops.py, sr_photos.py, beside this file; not a script): how a trial
changes the crops the recipe draws without a copy of its build."""
import synthlib.data.crops as crops


def crops_with(**overrides) -> None:
    """Make every ``RandomCrops`` made from here on (``_sr_build`` looks the name up when it runs) take these keyword
    arguments in place of the recipe's, e.g. ``crops_with(crop=128, enlarge=False)``."""
    random_crops = crops.RandomCrops

    def overridden(role, **kw):
        return random_crops(role, **{**kw, **overrides})

    crops.RandomCrops = overridden
