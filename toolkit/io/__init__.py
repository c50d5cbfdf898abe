"""Reading exports (accept messy input, refuse bad input) and writing output folders."""
