"""Where the replay datasets' recorded files are: the shipped slice first, then ../shared."""

from pathlib import Path

from django.conf import settings

from markets.sources.replay import DATASETS


def replay_data_dir(dataset: str) -> Path:
    """The folder holding ``dataset``'s file (plain or .gz) under the shipped data folder or,
    failing that, the shared recorded data. Raises ``FileNotFoundError`` naming both places."""
    name = DATASETS[dataset].file
    roots = [Path(settings.MARKETS["DATA_DIR"]), Path(settings.MARKETS["SHARED_DATA_DIR"])]
    for root in roots:
        if root.is_dir():
            for candidate in (*root.rglob(name), *root.rglob(f"{name}.gz")):
                return candidate.parent
    raise FileNotFoundError(f"replay dataset {dataset!r}: {name} not found under {' or '.join(map(str, roots))}")
