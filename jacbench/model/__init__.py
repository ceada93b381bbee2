"""The model under study (the MLP, its activations) and the float64 reference Jacobian."""
