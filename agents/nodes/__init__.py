"""One module per graph node; each exports `make_<node>(team)` returning the node function."""
