"""NARS, the search behind FBNetV3 (Dai et al., CVPR 2021, arXiv:2006.02049): joint architecture-recipe search.

Algorithm 1 of the paper, one module per stage:

Stage 1, predictor pretraining (`stage1.py`): draw a pool of n candidates by quasi-Monte-Carlo (scrambled Sobol)
    from the joint architecture x recipe space (`space.py`); train the predictor's encoder + proxy head on the FLOPs
    and params of 80% of the pool (free labels), validate on the other 20%. (Recipe-only mode skips it: FLOPs/params
    do not depend on the recipe, and the paper uses no pretrained embedding there.)
Stage 2, constrained iterative optimisation (`stage2.py`), T iterations:
    pick m candidates: the first iteration takes the pool's first m within the FLOPs range as they are; later ones
    split the FLOPs range into m bins and take the best-predicted unevaluated candidate of each; train them through
    the executor (local / Ray), per-epoch accuracies in the ledger. After the first iteration (trained for the full
    `epochs`), choose the early-stop epoch e = smallest epoch whose ranking has rank correlation >= 0.92 with the
    final ranking; later candidates stop after e epochs (the same schedule, cut short), and every label is the
    accuracy at epoch e. Fit the accuracy head with Huber loss (delta 1): 50 epochs with the encoder frozen, then
    50 unfrozen at a lower lr.
Stage 3, predictor-based evolution (`stage3.py`) under every resource constraint at once (eq. 1); with
    `flops_family`, one search per FLOPs target, each also under every constraint (sec. 4.3: FBNetV3-B..E, one
    predictor): 100 initial = 50 best of stage 2 + 50 random, every one a parent; 24 children per parent within the
    constraint; keep the top 40 of parents + children; stop when the best predicted score saturates.
Final training (`final.py`) of each found pair with its recipe, EMA on, in two steps (sec. 4.3): the largest found
    model is trained on the labels, then every found model (the largest too) is distilled from it, 0.8 KD + 0.2 CE
    (`distill=False`: each is trained once, on the labels).

`method.py` runs them in order. Checkpoints after stage 1, after every trained candidate, after every iteration,
after every search of stage 3, the teacher and every final model: a resumed run continues mid-stage and equals an
uninterrupted one. `training.py` holds the worker side (`train_until`, `train_final`), `config.py` the defaults.
"""

from archsearch.methods.nars.config import MODES, NARSConfig
from archsearch.methods.nars.method import NARS
from archsearch.methods.nars.training import train_final, train_until

__all__ = ["MODES", "NARS", "NARSConfig", "train_final", "train_until"]
