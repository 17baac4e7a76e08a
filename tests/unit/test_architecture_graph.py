"""docs/architecture.svg is drawn from the code: the committed graph matches the imports."""

from __future__ import annotations

from tools import architecture_graph


def test_the_committed_architecture_graph_matches_the_code() -> None:
    committed = architecture_graph.DOT.read_text()
    assert committed == architecture_graph.dot(), (
        "the packages or their imports changed: run `python -m tools.architecture_graph` "
        "(make docs-graph) and commit docs/architecture.dot and .svg")


def test_every_edge_goes_down_the_layers() -> None:
    rank = {name: index for index, row in enumerate(architecture_graph.layers())
            for name in row}
    for importer, imported in architecture_graph.edges():
        assert rank[importer] < rank[imported], f"{importer} -> {imported}"
