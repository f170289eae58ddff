import warnings

warnings.filterwarnings(
    "ignore", message="dwave-networkx is deprecated", category=DeprecationWarning
)
