"""The reference model: out-of-sample pred_probs, its members, and evaluation."""
