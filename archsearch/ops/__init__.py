"""Network building blocks with their analytic costs: MBConv (SE, hswish), the DARTS candidate ops, drop-path.

No search logic here; the spaces in `archsearch.spaces` assemble these blocks.
"""
