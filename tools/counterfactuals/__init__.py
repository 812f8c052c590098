"""Edits that change (counterfactual) or keep (augment) a prediction, and meaning-preserving
perturbations (adversarial), all verified on the model."""
