import warnings

warnings.filterwarnings(
    "ignore", message="dwave-networkx is deprecated", category=DeprecationWarning
)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run where torch sees a GPU (``pytest -m cuda``), else are skipped."""
    import pytest
    import torch

    if torch.cuda.is_available():
        return
    no_gpu = pytest.mark.skip(reason="needs a CUDA GPU (benchmarks/gpu_check.sh runs these)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(no_gpu)
