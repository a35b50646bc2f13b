"""The shape of a hierarchical genotype (Liu et al. 2018, arXiv:1711.00436, sec. 2.2-2.3): levels of motifs, each
a small DAG whose edges name a primitive or a motif of the level below. Plain values only, so both the space that
builds networks from it (`archsearch.spaces.hierarchical`) and the search engine that mutates it
(`archsearch.search.evolution`) read it from here."""

from __future__ import annotations

from dataclasses import dataclass

from archsearch.errors import ConfigError
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space

NONE = "none"
# sec. 2.3, in the paper's order; every convolution is followed by BN + ReLU, all of stride 1 and padded.
PRIMITIVES: tuple[str, ...] = ("conv1x1", "dwconv3x3", "sepconv3x3", "maxpool3x3", "avgpool3x3", "identity")


@dataclass(frozen=True)
class Hierarchy:
    """The shape of a genotype: motifs per level and nodes per motif graph, levels 2..L.

    ``motifs[0]`` is M_1, the number of primitives (6); ``motifs[-1]`` must be 1 (the cell). ``nodes[k]`` is the
    number of nodes of the graphs of level k + 2.
    """

    motifs: tuple[int, ...]
    nodes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.motifs) < 2:
            raise ConfigError(f"motifs={list(self.motifs)}: need at least two levels (primitives and the cell)")
        if self.motifs[0] != len(PRIMITIVES):
            raise ConfigError(f"motifs[0]={self.motifs[0]} must be {len(PRIMITIVES)}, the number of primitives "
                              f"({', '.join(PRIMITIVES)})")
        if self.motifs[-1] != 1:
            raise ConfigError(f"motifs[-1]={self.motifs[-1]} must be 1: the top level is the cell")
        if any(m < 1 for m in self.motifs):
            raise ConfigError(f"motifs={list(self.motifs)}: every level needs at least one motif")
        if len(self.nodes) != len(self.motifs) - 1:
            raise ConfigError(f"nodes={list(self.nodes)}: need one graph size per level 2..{len(self.motifs)} "
                              f"({len(self.motifs) - 1} values)")
        if any(n < 2 for n in self.nodes):
            raise ConfigError(f"nodes={list(self.nodes)}: a motif graph needs at least 2 nodes")

    @property
    def levels(self) -> int:
        """L: the number of levels including the primitives."""
        return len(self.motifs)

    def num_motifs(self, level: int) -> int:
        return self.motifs[level - 1]

    def num_nodes(self, level: int) -> int:
        return self.nodes[level - 2]

    def ops(self, level: int) -> tuple[str, ...]:
        """The values an edge of a level-`level` motif can take: ``none`` then the level-(l-1) motifs."""
        if level == 2:
            return (NONE,) + PRIMITIVES
        return (NONE,) + tuple(f"m{k}" for k in range(self.num_motifs(level - 1)))

    def edges(self, level: int) -> list[tuple[int, int]]:
        """(j, i) pairs with j < i, in a fixed order."""
        n = self.num_nodes(level)
        return [(j, i) for i in range(1, n) for j in range(i)]

    def edge_names(self) -> list[tuple[str, int, int, int, int]]:
        """(choice name, level, motif, j, i) for every edge of every motif, levels 2..L."""
        out = []
        for level in range(2, self.levels + 1):
            for m in range(self.num_motifs(level)):
                out.extend((edge_name(level, m, j, i), level, m, j, i) for j, i in self.edges(level))
        return out

    def space(self, name: str) -> Space:
        return Space(((n, Categorical(self.ops(level))) for n, level, _, _, _ in self.edge_names()), name=name)

    def trivial(self) -> Arch:
        """Sec. 3.1: every motif a chain of identity mappings (at levels >= 3, of motif m0 of the level below, itself
        an identity chain in this genotype: interpretation, as identity is a primitive only)."""
        items = []
        for n, level, _, j, i in self.edge_names():
            chain = i == j + 1
            items.append((n, (("identity" if level == 2 else "m0") if chain else NONE)))
        return Arch(items)


def edge_name(level: int, motif: int, j: int, i: int) -> str:
    return f"l{level}m{motif}_{j}_{i}"


HIERARCHICAL = Hierarchy(motifs=(6, 6, 1), nodes=(4, 5))  # sec. 4.1: L = 3, M = (6, 6, 1), graphs of 4 and 5 nodes
FLAT = Hierarchy(motifs=(6, 1), nodes=(11,))  # sec. 4.1: the flat genotype, one graph of 11 nodes over primitives


__all__ = ["FLAT", "HIERARCHICAL", "NONE", "PRIMITIVES", "Hierarchy", "edge_name"]
